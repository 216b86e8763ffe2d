//! UTC time stamps as isf writes them (provenance, database state, lock files, folder names),
//! formatted by `humantime` so no calendar arithmetic lives here.

use std::time::SystemTime;

/// `t` as RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SSZ`, or with `millis` `YYYY-MM-DDTHH:MM:SS.mmmZ`
/// (truncated, not rounded). Times before the epoch are written as the epoch.
pub fn utc_rfc3339(t: SystemTime, millis: bool) -> String {
    let t = t.max(SystemTime::UNIX_EPOCH);
    if millis {
        humantime::format_rfc3339_millis(t).to_string()
    } else {
        humantime::format_rfc3339_seconds(t).to_string()
    }
}

/// The current time as [`utc_rfc3339`] without milliseconds.
pub fn utc_now_rfc3339() -> String {
    utc_rfc3339(SystemTime::now(), false)
}

/// The current time as [`utc_rfc3339`] with milliseconds.
pub fn utc_now_rfc3339_millis() -> String {
    utc_rfc3339(SystemTime::now(), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn civil_dates_and_truncated_millis() {
        // 2000-02-29T13:04:05.250Z is 951829445.25 s after the epoch (a leap day of a century
        // leap year); 999 ms must not round up into the next second.
        let t = UNIX_EPOCH + Duration::from_millis(951_829_445_250);
        assert_eq!(utc_rfc3339(t, true), "2000-02-29T13:04:05.250Z");
        assert_eq!(utc_rfc3339(t, false), "2000-02-29T13:04:05Z");
        let t = UNIX_EPOCH + Duration::from_micros(951_829_445_999_900);
        assert_eq!(utc_rfc3339(t, true), "2000-02-29T13:04:05.999Z");
        assert_eq!(utc_rfc3339(t, false), "2000-02-29T13:04:05Z");
        assert_eq!(utc_rfc3339(UNIX_EPOCH, false), "1970-01-01T00:00:00Z");
        assert_eq!(
            utc_rfc3339(UNIX_EPOCH - Duration::from_secs(5), false),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(utc_now_rfc3339().len(), 20);
        assert_eq!(utc_now_rfc3339_millis().len(), 24);
    }
}
