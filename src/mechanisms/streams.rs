//! Random streams given to point processes from outside their `.mod` file: hoc's `Random(seed)`
//! (ISF's idiom for `releaseProb: "dynamic"`, in `negexp(1)` mode) and `Random123(a, b, c)`,
//! turned into the catalogue parameters that configure a compiled mechanism's stream (a `RANDOM`
//! variable or the Random pointer idiom; docs/nmodl.md#random-numbers-implemented).

use super::catalogue::Entry;
use isf_nmodl::lower::STREAM_PARAMS;

/// Where a stream comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamSource {
    /// hoc's `Random(seed)` put in `negexp(1)` mode, as ISF attaches it with `setRNG`: NEURON 9's
    /// stream (seed, 55, 0), whose first variate `negexp(1)` consumes (position 1).
    Random(u32),
    /// `Random123(a, b, c)`: the stream with these ids, from position 0.
    Random123([u32; 3]),
}

/// A stream of a mechanism, found through its configuring parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The `RANDOM` variable or POINTER name (`ranvar`, `rng`).
    pub name: String,
    /// A Random pointer (hoc attaches a `Random` with `setRNG`), not a `RANDOM` variable.
    pub pointer: bool,
}

/// The streams of `entry`: every `<name>_id1` parameter accompanied by `<name>_id2`,
/// `<name>_id3` and `<name>_seq` (and `<name>_attached` for a Random pointer), the parameters
/// the NMODL lowering declares per stream. Built-ins have none.
pub fn streams(entry: &Entry) -> Vec<StreamInfo> {
    let has = |n: &str| entry.params.iter().any(|(p, _)| *p == n);
    let suffix = format!("_{}", STREAM_PARAMS[0]);
    entry
        .params
        .iter()
        .filter_map(|(p, _)| p.strip_suffix(suffix.as_str()))
        .filter(|name| {
            STREAM_PARAMS[1..4]
                .iter()
                .all(|s| has(&format!("{name}_{s}")))
        })
        .map(|name| StreamInfo {
            name: name.to_string(),
            pointer: has(&format!("{name}_{}", STREAM_PARAMS[4])),
        })
        .collect()
}

/// The parameters giving `entry`'s stream `stream` (by name; `None`: its only stream) the
/// stream `source`. Errors say what is missing, for the caller to place in its file.
pub fn stream_params(
    entry: &Entry,
    stream: Option<&str>,
    source: StreamSource,
) -> Result<Vec<(String, f64)>, String> {
    let all = streams(entry);
    let names = || {
        all.iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let s = match stream {
        Some(n) => all.iter().find(|s| s.name == n).ok_or_else(|| {
            format!(
                "`{}` has no random stream `{n}` (its streams: {})",
                entry.name,
                if all.is_empty() {
                    "none".into()
                } else {
                    names()
                }
            )
        })?,
        None => match &all[..] {
            [one] => one,
            [] => {
                return Err(format!(
                    "`{}` has no random stream (a RANDOM variable or a Random POINTER set by \
                     setRNG)",
                    entry.name
                ))
            }
            _ => {
                return Err(format!(
                    "`{}` has several random streams ({}): name one",
                    entry.name,
                    names()
                ))
            }
        },
    };
    let (ids, seq) = match source {
        StreamSource::Random(_) if !s.pointer => {
            return Err(format!(
                "`{}`'s stream `{}` is a RANDOM variable, which takes Random123 ids, not a \
                 hoc Random(seed)",
                entry.name, s.name
            ))
        }
        StreamSource::Random(seed) => ([seed, 55, 0], 1.0),
        StreamSource::Random123(ids) => (ids, 0.0),
    };
    let key = |k: usize| format!("{}_{}", s.name, STREAM_PARAMS[k]);
    let mut out = vec![
        (key(0), f64::from(ids[0])),
        (key(1), f64::from(ids[1])),
        (key(2), f64::from(ids[2])),
        (key(3), seq),
    ];
    if s.pointer {
        out.push((key(4), 1.0));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanisms::compiled;

    #[test]
    fn builtins_have_no_stream_and_errors_name_the_mechanism() {
        let e = crate::mechanisms::Catalogue.get("IClamp").unwrap();
        assert!(streams(e).is_empty());
        let err = stream_params(e, None, StreamSource::Random(3)).unwrap_err();
        assert!(err.contains("`IClamp` has no random stream"), "{err}");
        let err = stream_params(e, Some("rng"), StreamSource::Random(3)).unwrap_err();
        assert!(err.contains("no random stream `rng`"), "{err}");
    }

    #[test]
    fn random_variable_takes_random123_ids() {
        let program = compiled::compile_str(
            "rv_streams.mod",
            "NEURON { ARTIFICIAL_CELL RvStreams RANDOM rv RANGE x }\nASSIGNED { x }\n\
             INITIAL { x = random_negexp(rv) }\nNET_RECEIVE (w) { x = random_uniform(rv) }\n",
        )
        .unwrap();
        let e = compiled::register("RvStreams", program, None).unwrap();
        assert_eq!(
            streams(e),
            vec![StreamInfo {
                name: "rv".into(),
                pointer: false
            }]
        );
        let p = stream_params(e, None, StreamSource::Random123([3, 5, 7])).unwrap();
        assert_eq!(
            p,
            vec![
                ("rv_id1".to_string(), 3.0),
                ("rv_id2".into(), 5.0),
                ("rv_id3".into(), 7.0),
                ("rv_seq".into(), 0.0)
            ]
        );
        let err = stream_params(e, None, StreamSource::Random(9)).unwrap_err();
        assert!(err.contains("RANDOM variable"), "{err}");
    }
}
