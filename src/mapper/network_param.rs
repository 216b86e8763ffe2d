//! Network parameter files from activity templates (spec §4).
