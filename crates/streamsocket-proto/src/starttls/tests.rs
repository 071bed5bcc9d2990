//! Tests of the dialect machines.

use super::*;

#[test]
fn honest_exchange_reaches_ready_in_every_dialect() {
    for dialect in Dialect::ALL {
        let outcome = run_in_memory(dialect, ClientConfig::default(), ServerConfig::default());
        assert!(outcome.tls_established, "{dialect}: {outcome:?}");
        assert!(outcome.is_ready(), "{dialect}: {outcome:?}");
        assert_eq!(outcome.failure(), None, "{dialect}");
    }
}
