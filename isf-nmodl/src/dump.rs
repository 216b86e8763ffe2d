//! A readable summary of an analysed model (for people and for tests).

use std::fmt::Write;

use crate::ast::ItemKind;
use crate::model::*;

/// Summary: kind and name, ions, currents, variables by class, callables, solves, NET_RECEIVE,
/// idioms, blocks.
pub fn summary(m: &AnalysedModel) -> String {
    let mut s = String::new();
    let kind = match m.kind {
        MechanismKind::Density => "SUFFIX",
        MechanismKind::PointProcess => "POINT_PROCESS",
        MechanismKind::ArtificialCell => "ARTIFICIAL_CELL",
    };
    let _ = writeln!(s, "{kind} {}  ({})", m.name, m.file);
    if let Some(t) = &m.title {
        let _ = writeln!(s, "  title: {t}");
    }
    if m.threadsafe {
        let _ = writeln!(s, "  THREADSAFE");
    }
    for i in &m.ions {
        let _ = writeln!(
            s,
            "  ion {}: read [{}] write [{}]{}",
            i.name,
            i.read.join(", "),
            i.write.join(", "),
            i.valence
                .map(|v| format!(" valence {v}"))
                .unwrap_or_default()
        );
    }
    if !m.nonspecific_currents.is_empty() {
        let _ = writeln!(
            s,
            "  nonspecific currents: {}",
            m.nonspecific_currents.join(", ")
        );
    }
    if !m.electrode_currents.is_empty() {
        let _ = writeln!(
            s,
            "  electrode currents: {}",
            m.electrode_currents.join(", ")
        );
    }
    for v in &m.variables {
        let class = match &v.class {
            VarClass::Parameter => "PARAMETER".to_string(),
            VarClass::Assigned => "ASSIGNED".to_string(),
            VarClass::State => "STATE".to_string(),
            VarClass::Builtin(b) => format!("builtin {b:?}"),
            VarClass::ImplicitIon => "ion (implicit)".to_string(),
            VarClass::Pointer => "POINTER".to_string(),
            VarClass::Random => "RANDOM".to_string(),
            VarClass::FileLocal => "file LOCAL".to_string(),
        };
        let _ = write!(s, "  var {:<14} {class:<16} {:?}", v.name, v.visibility);
        if let Some(u) = &v.unit {
            let _ = write!(s, " ({u})");
        }
        if let Some(d) = v.default {
            let _ = write!(s, " = {d}");
        }
        if let Some(a) = v.array {
            let _ = write!(s, " [{a}]");
        }
        if let Some(i) = &v.ion {
            let _ = write!(
                s,
                " ion {}{}{}",
                i.ion,
                if i.read { " R" } else { "" },
                if i.write { " W" } else { "" }
            );
        }
        if let Some(c) = &v.current {
            let _ = write!(s, " current {c:?}");
        }
        if v.written {
            let _ = write!(s, " written");
        }
        let _ = writeln!(s);
    }
    let names: Vec<String> = m
        .neuron_names()
        .iter()
        .map(|n| match n.role {
            NameRole::Range => n.name.clone(),
            NameRole::Global => format!("{} (global)", n.name),
            NameRole::Ion => format!("{} (ion)", n.name),
        })
        .collect();
    let _ = writeln!(s, "  NEURON names: {}", names.join(", "));
    if !m.ignored_names.is_empty() {
        let _ = writeln!(
            s,
            "  RANGE/GLOBAL names without a variable (ignored): {}",
            m.ignored_names.join(", ")
        );
    }
    for c in &m.constants {
        let _ = writeln!(s, "  constant {} = {:?}", c.name, c.value);
    }
    for c in &m.callables {
        let _ = write!(s, "  {:?} {}({})", c.kind, c.name, c.params.join(", "));
        if let Some(t) = &c.table {
            let _ = write!(
                s,
                " TABLE [{}] DEPEND [{}] WITH {}",
                t.names.join(", "),
                t.depend.join(", "),
                t.with
            );
        }
        if let Some(i) = &c.idiom {
            let _ = write!(s, " idiom {i:?}");
        }
        let _ = writeln!(s);
    }
    for so in &m.solves {
        let _ = writeln!(
            s,
            "  SOLVE {} ({:?}) {:?}{} in {}{}",
            so.block,
            so.target,
            so.method,
            if so.steadystate { " STEADYSTATE" } else { "" },
            if so.in_breakpoint {
                "BREAKPOINT"
            } else {
                "INITIAL"
            },
            match &so.fallback_reason {
                Some(r) => format!(" (falls back to derivimplicit: {r})"),
                None => String::new(),
            }
        );
    }
    if let Some(n) = &m.net_receive {
        let _ = writeln!(
            s,
            "  NET_RECEIVE({}) initial={} net_send={} net_event={} flag={}",
            n.args.join(", "),
            n.has_initial,
            n.net_send,
            n.net_event,
            n.uses_flag
        );
    }
    for i in &m.idioms {
        let _ = writeln!(s, "  idiom at {}: {:?}", i.span, i.kind);
    }
    if !m.globals_written.is_empty() {
        let _ = writeln!(s, "  globals written: {}", m.globals_written.join(", "));
    }
    if !m.current_linearity.is_empty() {
        let _ = writeln!(
            s,
            "  currents in v: {}",
            m.current_linearity
                .iter()
                .map(|(n, d)| format!("{n} {d:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !m.builtins_used.is_empty() {
        let _ = writeln!(s, "  builtins used: {:?}", m.builtins_used);
    }
    let blocks: Vec<String> = m
        .module
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Initial(_) => Some("INITIAL".to_string()),
            ItemKind::Breakpoint(_) => Some("BREAKPOINT".to_string()),
            ItemKind::Derivative { name, .. } => Some(format!("DERIVATIVE {}", name.name)),
            ItemKind::Kinetic { name, .. } => Some(format!("KINETIC {}", name.name)),
            ItemKind::Linear { name, .. } => Some(format!("LINEAR {}", name.name)),
            ItemKind::NonLinear { name, .. } => Some(format!("NONLINEAR {}", name.name)),
            ItemKind::NetReceive { .. } => Some("NET_RECEIVE".to_string()),
            _ => None,
        })
        .collect();
    let _ = writeln!(s, "  blocks: {}", blocks.join(", "));
    s
}
