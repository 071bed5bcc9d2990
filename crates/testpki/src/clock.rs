//! Fixed instants for certificate validity, so tests and snapshots do not depend on today.
//!
//! Every window below contains [`reference_now`], and also the real clock of any run between
//! 2021 and 2099, so command-line peers (openssl, curl, gnutls) that use the real time see the
//! same outcome as tests that pin the time with [`reference_now`]:
//!
//! ```text
//! 2019 ---- 2020 -- 2021 ---- 2025-06-01 (reference) ---- 2080 ---------- 2099-12-31 -- 2100
//! [ca ...................................................................................]
//!           [valid leaf .................................................................]
//! [expired ........]   (also the expired untrusted root, and the stale CRLs)
//!                                                          [not yet valid ..............]
//! ```

use std::time::{Duration, SystemTime};

use rustls_pki_types::UnixTime;
use time::OffsetDateTime;

/// The reference instant, 2025-06-01T00:00:00Z, as seconds since the Unix epoch.
pub const REFERENCE_UNIX_SECS: u64 = 1_748_736_000;

const Y2019: u64 = 1_546_300_800;
const Y2020: u64 = 1_577_836_800;
const Y2020_JAN_02: u64 = 1_577_923_200;
const Y2021: u64 = 1_609_459_200;
const Y2080: u64 = 3_471_292_800;
const Y2099_DEC_31: u64 = 4_102_358_400;
const Y2100: u64 = 4_102_444_800;

/// A certificate's validity window (both ends inclusive, as in X.509).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Validity {
    /// The first instant the certificate is valid.
    pub not_before: OffsetDateTime,
    /// The last instant the certificate is valid.
    pub not_after: OffsetDateTime,
}

impl Validity {
    fn from_secs(not_before: u64, not_after: u64) -> Self {
        Self {
            not_before: at(not_before),
            not_after: at(not_after),
        }
    }

    /// Whether `instant` lies inside the window.
    pub fn contains(&self, instant: OffsetDateTime) -> bool {
        self.not_before <= instant && instant <= self.not_after
    }
}

/// The instant tests verify certificates at: 2025-06-01T00:00:00Z, as rustls wants it.
pub fn reference_now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(REFERENCE_UNIX_SECS))
}

/// The reference instant as a [`SystemTime`].
pub fn reference_system_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE_UNIX_SECS)
}

/// The reference instant as an [`OffsetDateTime`].
pub fn reference_datetime() -> OffsetDateTime {
    at(REFERENCE_UNIX_SECS)
}

/// Roots and intermediates: 2019-01-01 to 2100-01-01.
pub fn ca() -> Validity {
    Validity::from_secs(Y2019, Y2100)
}

/// Leaves meant to be valid: 2020-01-01 to 2099-12-31.
pub fn valid() -> Validity {
    Validity::from_secs(Y2020, Y2099_DEC_31)
}

/// The expired leaf, the expired untrusted root and the stale CRLs (nextUpdate passed):
/// 2019-01-01 to 2021-01-01.
pub fn expired() -> Validity {
    Validity::from_secs(Y2019, Y2021)
}

/// The not-yet-valid leaf: 2080-01-01 to 2099-12-31.
pub fn not_yet_valid() -> Validity {
    Validity::from_secs(Y2080, Y2099_DEC_31)
}

/// CRLs: issued 2020-01-01, next update 2099-12-31.
pub fn crl() -> Validity {
    Validity::from_secs(Y2020, Y2099_DEC_31)
}

/// When the revoked leaf was revoked: 2020-01-02.
pub fn revocation_time() -> OffsetDateTime {
    at(Y2020_JAN_02)
}

fn at(unix_secs: u64) -> OffsetDateTime {
    // All constants above are between 2019 and 2100, far inside `OffsetDateTime`'s range, so the
    // conversion to i64 and the addition cannot overflow.
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(unix_secs as i64)
}

#[cfg(test)]
mod tests {
    use time::{Date, Month, PrimitiveDateTime, Time};

    use super::*;

    fn ymd(year: i32, month: Month, day: u8) -> OffsetDateTime {
        PrimitiveDateTime::new(
            Date::from_calendar_date(year, month, day).unwrap(),
            Time::MIDNIGHT,
        )
        .assume_utc()
    }

    #[test]
    fn constants_are_the_documented_dates() {
        assert_eq!(reference_datetime(), ymd(2025, Month::June, 1));
        assert_eq!(ca().not_before, ymd(2019, Month::January, 1));
        assert_eq!(ca().not_after, ymd(2100, Month::January, 1));
        assert_eq!(valid().not_before, ymd(2020, Month::January, 1));
        assert_eq!(valid().not_after, ymd(2099, Month::December, 31));
        assert_eq!(expired().not_after, ymd(2021, Month::January, 1));
        assert_eq!(not_yet_valid().not_before, ymd(2080, Month::January, 1));
        assert_eq!(revocation_time(), ymd(2020, Month::January, 2));
    }

    #[test]
    fn windows_sit_where_the_scenarios_need_them() {
        let now = reference_datetime();
        assert!(ca().contains(now));
        assert!(valid().contains(now));
        assert!(crl().contains(now));
        assert!(!expired().contains(now));
        assert!(expired().not_after < now);
        assert!(!not_yet_valid().contains(now));
        assert!(not_yet_valid().not_before > now);
        assert_eq!(
            reference_system_time()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            REFERENCE_UNIX_SECS
        );
        assert_eq!(reference_now().as_secs(), REFERENCE_UNIX_SECS);
    }
}
