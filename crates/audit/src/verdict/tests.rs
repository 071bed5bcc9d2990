//! Every verdict rule with a correct client's observations and a deliberately wrong one's: an
//! audit that cannot fail proves nothing.

use mockserver::{LegacyVersion, Refusal};
use proto::alert::Alert;
use proto::hello::legacy::Answer;
use proto::starttls::CloseReason;
use testpki::Scenario;

use super::*;
use crate::case::cases;

/// The case for `dialect`, `scenario` and `behaviour` (the ECDSA key, or the RSA one that a
/// legacy ServerHello is served with; both TLS versions).
fn case(dialect: Dialect, scenario: Scenario, behaviour: Behaviour) -> Case {
    let key = if matches!(behaviour, Behaviour::LegacyServerHello(_)) {
        testpki::KeyKind::Rsa2048
    } else {
        testpki::KeyKind::EcdsaP256
    };
    cases(&[dialect], None)
        .into_iter()
        .find(|c| {
            c.entry.scenario == scenario
                && c.entry.behaviour == behaviour
                && c.entry.key_type == key
                && c.entry.tls == "1.2,1.3"
                && !c.client_cert_required
        })
        .unwrap_or_else(|| panic!("no case {dialect} {scenario} {behaviour}"))
}

/// One connection: what arrived in plaintext and inside TLS, and how it ended.
fn conn(plain: &[u8], tls: Option<&[u8]>, end: SessionEnd) -> Transcript {
    let mut chunks = Vec::new();
    if !plain.is_empty() {
        chunks.push((Phase::Plaintext, plain.to_vec()));
    }
    if let Some(tls) = tls.filter(|t| !t.is_empty()) {
        chunks.push((Phase::Tls, tls.to_vec()));
    }
    Transcript {
        id: 0,
        chunks,
        dropped_bytes: 0,
        end: Some(end),
        upgraded: true,
        handshake_completed: tls.is_some(),
        client_hello: None,
    }
}

/// A connection that never got the go-ahead.
fn plain_only(plain: &[u8], end: SessionEnd) -> Transcript {
    Transcript {
        upgraded: false,
        ..conn(plain, None, end)
    }
}

fn alert(name: &str) -> SessionEnd {
    let alert = Alert::from_name(name).unwrap_or_else(|| panic!("alert {name}"));
    SessionEnd::HandshakeFailed(HandshakeFailure::AlertReceived(alert))
}

const QUIT: SessionEnd = SessionEnd::Machine(CloseReason::Quit);
const SMTP_UPGRADE: &[u8] = b"EHLO localhost\r\nSTARTTLS\r\n";

fn obs(transcripts: Vec<Transcript>) -> Observations {
    Observations {
        transcripts,
        process: ProcessEnd::Exited(Some(0)),
        duration: Duration::from_millis(120),
        crl_given: true,
    }
}

fn killed(transcripts: Vec<Transcript>) -> Observations {
    Observations {
        process: ProcessEnd::KilledAtTimeout,
        duration: Duration::from_secs(3),
        ..obs(transcripts)
    }
}

fn check(case: &Case, obs: &Observations, verdict: Verdict, reason_has: &str) -> Judgement {
    let judgement = judge(case, obs);
    assert_eq!(judgement.verdict, verdict, "{}: {judgement:?}", case.id);
    assert!(
        judgement.reason.contains(reason_has),
        "{}: {:?} lacks {reason_has:?}",
        case.id,
        judgement.reason
    );
    judgement
}

#[test]
fn a_command_that_never_connects_is_inconclusive() {
    let c = case(Dialect::Smtp, Scenario::Expired, Behaviour::Honest);
    check(&c, &obs(vec![]), Verdict::Inconclusive, "never connected");
    let not_started = Observations {
        process: ProcessEnd::NotStarted,
        ..obs(vec![])
    };
    check(
        &c,
        &not_started,
        Verdict::Inconclusive,
        "could not be started",
    );
}

#[test]
fn a_valid_chain_passes_when_capabilities_are_asked_again_and_warns_otherwise() {
    let c = case(Dialect::Smtp, Scenario::Valid, Behaviour::Honest);
    let good = conn(SMTP_UPGRADE, Some(b"EHLO localhost\r\nQUIT\r\n"), QUIT);
    check(
        &c,
        &obs(vec![good]),
        Verdict::Pass,
        "asked again inside TLS (EHLO)",
    );
    let silent = conn(SMTP_UPGRADE, Some(b""), SessionEnd::Truncated);
    check(
        &c,
        &obs(vec![silent]),
        Verdict::Warn,
        "sent nothing inside TLS",
    );
    let stale = conn(SMTP_UPGRADE, Some(b"MAIL FROM:<a@b.test>\r\n"), QUIT);
    check(
        &c,
        &obs(vec![stale]),
        Verdict::Warn,
        "first command inside TLS was MAIL",
    );

    let imap = case(Dialect::Imap, Scenario::Valid, Behaviour::Honest);
    let stale = conn(
        b"a1 CAPABILITY\r\na2 STARTTLS\r\n",
        Some(b"a3 LOGIN u p\r\n"),
        QUIT,
    );
    check(&imap, &obs(vec![stale]), Verdict::Warn, "LOGIN");
    let good = conn(b"a1 STARTTLS\r\n", Some(b"a2 CAPABILITY\r\n"), QUIT);
    check(&imap, &obs(vec![good]), Verdict::Pass, "CAPABILITY");

    // ManageSieve: the server re-sends its capabilities unasked (RFC 5804 section 2.2), so
    // neither silence nor another command first is a warning.
    let sieve = case(Dialect::Sieve, Scenario::Valid, Behaviour::Honest);
    for (inside, said) in [
        (&b""[..], "sent nothing inside TLS"),
        (b"LOGOUT\r\n", "sent LOGOUT inside TLS"),
        (b"CAPABILITY\r\n", "sent CAPABILITY inside TLS"),
    ] {
        let t = conn(b"STARTTLS\r\n", Some(inside), QUIT);
        check(&sieve, &obs(vec![t]), Verdict::Pass, said);
    }

    let framed = case(Dialect::Framed, Scenario::Valid, Behaviour::Honest);
    let good = conn(b"\x00\x00\x00\x02hi", Some(b"\x00\x00\x00\x02hi"), QUIT);
    check(
        &framed,
        &obs(vec![good]),
        Verdict::Pass,
        "handshake completed",
    );
}

#[test]
fn a_client_that_refuses_the_valid_chain_is_inconclusive_and_told_to_check_its_trust() {
    let c = case(Dialect::Smtp, Scenario::Valid, Behaviour::Honest);
    let refused = conn(SMTP_UPGRADE, None, alert("unknown_ca"));
    let j = check(
        &c,
        &obs(vec![refused]),
        Verdict::Inconclusive,
        "trusts {ca}",
    );
    assert!(j.reason.contains("unknown_ca"), "{j:?}");
}

#[test]
fn an_accepted_bad_certificate_fails_and_a_refused_one_passes() {
    for scenario in Scenario::ALL.into_iter().filter(|s| *s != Scenario::Valid) {
        let c = case(Dialect::Smtp, scenario, Behaviour::Honest);
        let careless = conn(SMTP_UPGRADE, Some(b"EHLO localhost\r\nQUIT\r\n"), QUIT);
        let j = check(
            &c,
            &obs(vec![careless]),
            Verdict::Fail,
            "sent 22 bytes inside TLS",
        );
        assert!(j.reason.contains(scenario.name()), "{j:?}");
        let careful = conn(SMTP_UPGRADE, None, alert("bad_certificate"));
        check(
            &c,
            &obs(vec![careful]),
            Verdict::Pass,
            "alert bad_certificate",
        );
    }
    let expired = case(Dialect::Implicit, Scenario::Expired, Behaviour::Honest);
    let careful = conn(b"", None, alert("certificate_expired"));
    check(
        &expired,
        &obs(vec![careful]),
        Verdict::Pass,
        "certificate_expired",
    );
}

/// curl (OpenSSL) checks the name only after a TLS 1.3 handshake, and openssl s_client with
/// its stdin closed accepts and sends nothing: the server sees the same in both, a completed
/// handshake and silence. It fails, and the reason says what was seen.
#[test]
fn a_completed_handshake_with_a_bad_chain_fails_even_when_nothing_follows() {
    let c = case(Dialect::Smtp, Scenario::WrongHost, Behaviour::Honest);
    let silent = conn(SMTP_UPGRADE, Some(b""), SessionEnd::Truncated);
    check(
        &c,
        &obs(vec![silent.clone()]),
        Verdict::Fail,
        "sent nothing inside TLS: if it refused, it did so only after the handshake",
    );
    check(
        &c,
        &killed(vec![silent]),
        Verdict::Fail,
        "sent nothing inside TLS",
    );
    let spoke = conn(SMTP_UPGRADE, Some(b"QUIT\r\n"), QUIT);
    check(
        &c,
        &obs(vec![spoke]),
        Verdict::Fail,
        "sent 6 bytes inside TLS",
    );
}

#[test]
fn revocation_is_judged_only_when_the_command_is_given_the_crl() {
    let c = case(Dialect::Smtp, Scenario::Revoked, Behaviour::Honest);
    let accepted = conn(SMTP_UPGRADE, Some(b"EHLO x\r\n"), QUIT);
    let without = Observations {
        crl_given: false,
        ..obs(vec![accepted.clone()])
    };
    check(&c, &without, Verdict::Info, "does not use {crl}");
    check(&c, &obs(vec![accepted]), Verdict::Fail, "revoked");
}

#[test]
fn a_bad_certificate_case_where_tls_never_started_is_inconclusive() {
    let c = case(Dialect::Smtp, Scenario::WrongHost, Behaviour::Honest);
    let never = plain_only(b"EHLO x\r\nQUIT\r\n", QUIT);
    check(
        &c,
        &obs(vec![never]),
        Verdict::Inconclusive,
        "never started TLS",
    );
}

#[test]
fn stripping_fails_a_client_that_goes_on_in_plaintext() {
    let not_advertised = case(
        Dialect::Smtp,
        Scenario::Valid,
        Behaviour::StartTlsNotAdvertised,
    );
    let careless = plain_only(
        b"EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\nAUTH in the body\r\n",
        QUIT,
    );
    let j = check(
        &not_advertised,
        &obs(vec![careless]),
        Verdict::Fail,
        "MAIL in plaintext",
    );
    assert!(!j.critical);
    let careful = plain_only(b"EHLO x\r\nQUIT\r\n", QUIT);
    check(
        &not_advertised,
        &obs(vec![careful]),
        Verdict::Pass,
        "EHLO, QUIT",
    );

    let refused = case(
        Dialect::Smtp,
        Scenario::Valid,
        Behaviour::StartTlsRefused(Refusal::Temporary),
    );
    let leaks = plain_only(b"EHLO x\r\nSTARTTLS\r\nAUTH PLAIN AHVAcA==\r\n", QUIT);
    let j = check(
        &refused,
        &obs(vec![leaks]),
        Verdict::Fail,
        "credentials (AUTH)",
    );
    assert!(j.critical);
    // Whatever the refusal said (each code, or a line that is no reply), a ClientHello after it
    // is a ClientHello without the go-ahead.
    for refusal in Refusal::ALL {
        let refused = case(
            Dialect::Smtp,
            Scenario::Valid,
            Behaviour::StartTlsRefused(refusal),
        );
        let hello_anyway = plain_only(b"EHLO x\r\nSTARTTLS\r\n\x16\x03\x01\x02\x00\x01", QUIT);
        check(
            &refused,
            &obs(vec![hello_anyway]),
            Verdict::Fail,
            "ClientHello anyway",
        );
        let careful = plain_only(b"EHLO x\r\nSTARTTLS\r\nQUIT\r\n", QUIT);
        check(&refused, &obs(vec![careful]), Verdict::Pass, "STARTTLS");
    }
    let hangs = plain_only(
        b"EHLO x\r\nSTARTTLS\r\n",
        SessionEnd::Io(mockserver::IoFailure::Reset),
    );
    check(&refused, &killed(vec![hangs]), Verdict::Warn, "killed");

    let preauth = case(Dialect::Imap, Scenario::Valid, Behaviour::Preauth);
    let careless = plain_only(b"a1 LOGIN user secret\r\n", QUIT);
    let j = check(&preauth, &obs(vec![careless]), Verdict::Fail, "LOGIN");
    assert!(j.critical);
    let selects = plain_only(b"a1 CAPABILITY\r\na2 SELECT INBOX\r\n", QUIT);
    check(&preauth, &obs(vec![selects]), Verdict::Fail, "SELECT");
    let careful = plain_only(b"a1 CAPABILITY\r\na2 LOGOUT\r\n", QUIT);
    check(
        &preauth,
        &obs(vec![careful]),
        Verdict::Pass,
        "CAPABILITY, LOGOUT",
    );

    let pop3 = case(
        Dialect::Pop3,
        Scenario::Valid,
        Behaviour::StartTlsRefused(Refusal::Temporary),
    );
    let careless = plain_only(b"CAPA\r\nSTLS\r\nUSER me\r\nPASS secret\r\n", QUIT);
    let j = check(&pop3, &obs(vec![careless]), Verdict::Fail, "USER");
    assert!(j.critical);
}

#[test]
fn injection_fails_a_client_that_takes_the_injected_reply() {
    let c = case(Dialect::Smtp, Scenario::Valid, Behaviour::ResponseInjection);
    let took_it = conn(SMTP_UPGRADE, Some(b"AUTH PLAIN AHVAcA==\r\n"), QUIT);
    check(
        &c,
        &obs(vec![took_it]),
        Verdict::Fail,
        "took the injected reply",
    );
    let asked_again = conn(SMTP_UPGRADE, Some(b"EHLO x\r\nQUIT\r\n"), QUIT);
    check(&c, &obs(vec![asked_again]), Verdict::Pass, "asked again");
    let aborted = conn(SMTP_UPGRADE, None, SessionEnd::Machine(CloseReason::Eof));
    check(&c, &obs(vec![aborted]), Verdict::Pass, "aborted");

    let pop3 = case(Dialect::Pop3, Scenario::Valid, Behaviour::ResponseInjection);
    let took_it = conn(b"CAPA\r\nSTLS\r\n", Some(b"USER me\r\n"), QUIT);
    check(&pop3, &obs(vec![took_it]), Verdict::Fail, "USER, not CAPA");

    // ManageSieve: the case's server withholds the capabilities it owes inside TLS, so any
    // command there first (asking again included) was prompted by the planted ones.
    let sieve = case(
        Dialect::Sieve,
        Scenario::Valid,
        Behaviour::ResponseInjection,
    );
    for first in [
        &b"LOGOUT\r\n"[..],
        b"AUTHENTICATE \"PLAIN\" \"AHUAcA==\"\r\n",
    ] {
        let took_it = conn(b"STARTTLS\r\n", Some(first), QUIT);
        check(
            &sieve,
            &obs(vec![took_it]),
            Verdict::Fail,
            "took the injected capabilities",
        );
    }
    let waited = conn(b"STARTTLS\r\n", Some(b""), SessionEnd::Truncated);
    check(
        &sieve,
        &obs(vec![waited]),
        Verdict::Pass,
        "waited inside TLS for the server's own",
    );
    let aborted = conn(b"STARTTLS\r\n", None, SessionEnd::Machine(CloseReason::Eof));
    check(&sieve, &obs(vec![aborted]), Verdict::Pass, "aborted");
}

#[test]
fn legacy_and_broken_handshakes_fail_a_client_that_hangs_or_falls_back() {
    let behaviours = [
        Behaviour::LegacyOnly(LegacyVersion::Ssl3),
        Behaviour::LegacyOnly(LegacyVersion::Tls11),
        Behaviour::StallAfterGoAhead,
        Behaviour::GarbageInsteadOfServerHello,
        Behaviour::CloseMidHandshake,
    ];
    for behaviour in behaviours {
        let c = case(Dialect::Smtp, Scenario::Valid, behaviour);
        let end = SessionEnd::Behaviour(behaviour);
        let hangs = conn(SMTP_UPGRADE, None, end);
        check(&c, &killed(vec![hangs.clone()]), Verdict::Fail, "it hangs");
        let gives_up = obs(vec![hangs.clone()]);
        check(&c, &gives_up, Verdict::Pass, "gave up by itself");
        let fallback = plain_only(b"EHLO x\r\nMAIL FROM:<a@b.test>\r\n", QUIT);
        check(
            &c,
            &obs(vec![hangs, fallback]),
            Verdict::Fail,
            "MAIL in plaintext",
        );
    }
    let implicit = case(
        Dialect::Implicit,
        Scenario::Valid,
        Behaviour::CloseMidHandshake,
    );
    let not_tls = conn(
        b"",
        None,
        SessionEnd::HandshakeFailed(HandshakeFailure::NotTls),
    );
    check(&implicit, &obs(vec![not_tls]), Verdict::Fail, "not TLS");
    let framed = case(
        Dialect::Framed,
        Scenario::Valid,
        Behaviour::StallAfterGoAhead,
    );
    let first = conn(b"", None, SessionEnd::HandshakeTimeout);
    let frames = plain_only(
        b"\x00\x00\x00\x05hello",
        SessionEnd::Machine(CloseReason::Eof),
    );
    check(
        &framed,
        &obs(vec![first, frames]),
        Verdict::Fail,
        "frames in plaintext",
    );
}

#[test]
fn informational_cases_are_never_findings() {
    let all = cases(&[Dialect::Smtp], None);
    let info: Vec<&Case> = all
        .iter()
        .filter(|c| c.category == Category::Informational)
        .collect();
    assert_eq!(
        info.len(),
        3,
        "1.2-only, 1.3-only, client certificate required"
    );
    for c in info {
        let done = conn(SMTP_UPGRADE, Some(b"EHLO x\r\n"), QUIT);
        check(
            c,
            &obs(vec![done]),
            Verdict::Info,
            "it completed a handshake",
        );
        let refused = conn(
            SMTP_UPGRADE,
            None,
            SessionEnd::HandshakeFailed(HandshakeFailure::NoClientCertificate),
        );
        check(
            c,
            &obs(vec![refused]),
            Verdict::Info,
            "no-client-certificate",
        );
    }
}

#[test]
fn plaintext_credentials_fail_in_every_category() {
    let c = case(Dialect::Smtp, Scenario::Valid, Behaviour::Honest);
    let leaks = conn(
        b"EHLO x\r\nAUTH PLAIN AHVAcA==\r\nSTARTTLS\r\n",
        Some(b"EHLO x\r\n"),
        QUIT,
    );
    let j = check(&c, &obs(vec![leaks]), Verdict::Fail, "critical");
    assert!(j.critical);
}

/// A ClientHello record with `legacy_version` and, when given, a `supported_versions` extension.
fn hello_offering(legacy_version: u16, supported: Option<&[u16]>) -> Vec<u8> {
    let mut body = legacy_version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0; 32]);
    body.extend_from_slice(&[0, 0, 2, 0xc0, 0x2f, 1, 0]);
    let mut block = Vec::new();
    if let Some(versions) = supported {
        block.extend_from_slice(&[0x00, 0x2b]);
        block.extend_from_slice(&(versions.len() as u16 * 2 + 1).to_be_bytes());
        block.push(versions.len() as u8 * 2);
        for v in versions {
            block.extend_from_slice(&v.to_be_bytes());
        }
    }
    body.extend_from_slice(&(block.len() as u16).to_be_bytes());
    body.extend_from_slice(&block);
    let mut record = vec![
        0x16,
        3,
        1,
        0,
        body.len() as u8 + 4,
        1,
        0,
        0,
        body.len() as u8,
    ];
    record.extend_from_slice(&body);
    record
}

/// A connection that got the go-ahead, sent `hello` and was answered by the behaviour.
fn hello_conn(id: u64, hello: Vec<u8>, behaviour: Behaviour) -> Transcript {
    Transcript {
        id,
        client_hello: Some(hello),
        ..conn(SMTP_UPGRADE, None, SessionEnd::Behaviour(behaviour))
    }
}

#[test]
fn a_client_offering_a_legacy_version_to_a_legacy_only_server_fails() {
    let behaviour = Behaviour::LegacyOnly(LegacyVersion::Tls10);
    let c = case(Dialect::Smtp, Scenario::Valid, behaviour);
    let modern = || hello_offering(0x0303, Some(&[0x0a0a, 0x0304, 0x0303]));

    // Correct: TLS 1.2 and 1.3 only (GREASE ignored), gives up after the alert.
    let correct = hello_conn(0, modern(), behaviour);
    check(&c, &obs(vec![correct]), Verdict::Pass, "gave up by itself");

    // Wrong: TLS 1.0 and 1.1 in supported_versions.
    let wide = hello_offering(0x0303, Some(&[0x0304, 0x0303, 0x0302, 0x0301]));
    let wrong = hello_conn(0, wide, behaviour);
    check(
        &c,
        &obs(vec![wrong]),
        Verdict::Fail,
        "offered TLS 1.1 and TLS 1.0 in its ClientHello (connection 0) to a server that speaks \
         only TLS 1.0",
    );

    // Wrong: a TLS 1.0 client without supported_versions, even one that hangs.
    let old = hello_conn(0, hello_offering(0x0301, None), behaviour);
    check(&c, &killed(vec![old]), Verdict::Fail, "offered TLS 1.0 in");

    // Wrong: a fallback after the old server's alert, on a second connection.
    let first = hello_conn(0, modern(), behaviour);
    let fallback = hello_conn(1, hello_offering(0x0301, None), behaviour);
    check(
        &c,
        &obs(vec![first, fallback]),
        Verdict::Fail,
        "offered TLS 1.0 in its ClientHello (connection 1)",
    );

    // SSL 3.0 by its name; bytes that are no ClientHello are left to the other rules.
    let ssl3 = case(
        Dialect::Smtp,
        Scenario::Valid,
        Behaviour::LegacyOnly(LegacyVersion::Ssl3),
    );
    let sslv3 = hello_conn(0, hello_offering(0x0300, None), behaviour);
    check(&ssl3, &obs(vec![sslv3]), Verdict::Fail, "offered SSL 3.0");
    let garbage = hello_conn(0, b"\x16\x03\x01\x00\x01\x02".to_vec(), behaviour);
    check(&c, &obs(vec![garbage]), Verdict::Pass, "gave up by itself");
}

#[test]
fn a_legacy_offer_is_not_judged_against_other_broken_handshakes() {
    let behaviour = Behaviour::CloseMidHandshake;
    let c = case(Dialect::Smtp, Scenario::Valid, behaviour);
    let old = hello_conn(0, hello_offering(0x0301, None), behaviour);
    check(&c, &obs(vec![old]), Verdict::Pass, "gave up by itself");
}

#[test]
fn a_client_that_goes_on_after_a_legacy_server_hello_fails() {
    let behaviour = Behaviour::LegacyServerHello(LegacyVersion::Tls10);
    let c = case(Dialect::Smtp, Scenario::Valid, behaviour);
    // A TLS 1.2 ClientHello without supported_versions: it offers nothing older by itself, so
    // only its answer to the old ServerHello can tell.
    let answered = |answer: Answer| Transcript {
        end: Some(SessionEnd::LegacyAnswer(answer)),
        ..hello_conn(0, hello_offering(0x0303, None), behaviour)
    };

    // Correct: protocol_version, or a close, and it ends by itself.
    let refuses = answered(Answer::Alert(Alert::PROTOCOL_VERSION));
    check(
        &c,
        &obs(vec![refuses]),
        Verdict::Pass,
        "ServerHello of an old version",
    );
    let closes = Transcript {
        end: Some(SessionEnd::HandshakeFailed(HandshakeFailure::Io(
            mockserver::IoFailure::Eof,
        ))),
        ..hello_conn(0, hello_offering(0x0303, None), behaviour)
    };
    check(&c, &obs(vec![closes]), Verdict::Pass, "gave up by itself");

    // Wrong: its next handshake message, a ChangeCipherSpec, or plaintext.
    for (answer, words) in [
        (
            Answer::Handshake(16),
            "it answered with its client-key-exchange",
        ),
        (
            Answer::ChangeCipherSpec,
            "it answered with its change-cipher-spec",
        ),
    ] {
        check(
            &c,
            &obs(vec![answered(answer)]),
            Verdict::Fail,
            &format!(
                "it went on with a TLS 1.0 handshake after the server's TLS 1.0 ServerHello: {words}"
            ),
        );
    }
    check(
        &c,
        &obs(vec![answered(Answer::NotTls)]),
        Verdict::Fail,
        "not TLS after a TLS 1.0 ServerHello",
    );
    // Going on is the worse finding, and said even when it also offered the old version.
    let both = Transcript {
        end: Some(SessionEnd::LegacyAnswer(Answer::Handshake(16))),
        ..hello_conn(0, hello_offering(0x0301, None), behaviour)
    };
    check(
        &c,
        &obs(vec![both]),
        Verdict::Fail,
        "went on with a TLS 1.0 handshake",
    );
    // Offering it and then refusing is still the offer's finding.
    let offers = Transcript {
        end: Some(SessionEnd::LegacyAnswer(Answer::Alert(
            Alert::PROTOCOL_VERSION,
        ))),
        ..hello_conn(0, hello_offering(0x0301, None), behaviour)
    };
    check(&c, &obs(vec![offers]), Verdict::Fail, "offered TLS 1.0 in");

    // Another alert: it may have taken the version and refused something else.
    let other = answered(Answer::Alert(Alert(48)));
    check(
        &c,
        &obs(vec![other]),
        Verdict::Warn,
        "the alert unknown_ca, not protocol_version",
    );
    // A client that refuses but then hangs is still failed for hanging.
    let hangs = answered(Answer::Alert(Alert::PROTOCOL_VERSION));
    check(&c, &killed(vec![hangs]), Verdict::Fail, "it hangs");
}

#[test]
fn a_plaintext_fallback_on_the_stalled_connection_itself_fails() {
    let c = case(Dialect::Smtp, Scenario::Valid, Behaviour::StallAfterGoAhead);
    // What the stalled server keeps: the upgrade, then (after the ClientHello and the client's
    // alert, which are TLS) the mail in the clear.
    let hello = hello_offering(0x0303, Some(&[0x0304, 0x0303]));
    let falls_back = Transcript {
        id: 0,
        client_hello: Some(hello.clone()),
        ..conn(
            b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@b.test>\r\n",
            None,
            SessionEnd::HandshakeTimeout,
        )
    };
    check(
        &c,
        &obs(vec![falls_back]),
        Verdict::Fail,
        "MAIL in plaintext",
    );
    let gives_up = Transcript {
        id: 0,
        client_hello: Some(hello),
        ..conn(SMTP_UPGRADE, None, SessionEnd::HandshakeTimeout)
    };
    check(&c, &obs(vec![gives_up]), Verdict::Pass, "gave up by itself");
}

// ---- PostgreSQL: startup packets, not lines ----

/// Int32 8, Int32 80877103.
const PG_SSL_REQUEST: &[u8] = &[0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];

/// A StartupMessage (protocol 3.0) for user `u`.
const PG_STARTUP: &[u8] = &[
    0, 0, 0, 16, 0, 3, 0, 0, b'u', b's', b'e', b'r', 0, b'u', 0, 0,
];

#[test]
fn postgres_a_plaintext_startup_after_n_is_critical_and_stopping_passes() {
    let refused = case(
        Dialect::Postgres,
        Scenario::Valid,
        Behaviour::StartTlsRefused(Refusal::Temporary),
    );
    let stopped = obs(vec![plain_only(
        PG_SSL_REQUEST,
        SessionEnd::Machine(CloseReason::Eof),
    )]);
    check(&refused, &stopped, Verdict::Pass, "SSLRequest");
    // sslmode=prefer: the StartupMessage follows the `N` on the same connection.
    let went_on = obs(vec![plain_only(
        &[PG_SSL_REQUEST, PG_STARTUP].concat(),
        SessionEnd::Machine(CloseReason::Eof),
    )]);
    let judgement = check(&refused, &went_on, Verdict::Fail, "StartupMessage");
    assert!(judgement.critical);
}

#[test]
fn postgres_injection_passes_a_client_that_aborts_inside_tls_and_warns_otherwise() {
    let injection = case(
        Dialect::Postgres,
        Scenario::Valid,
        Behaviour::ResponseInjection,
    );
    // libpq since 14.1: the handshake, then nothing (CVE-2021-23222).
    let aborted = obs(vec![conn(
        PG_SSL_REQUEST,
        Some(b""),
        SessionEnd::Machine(CloseReason::Eof),
    )]);
    check(&injection, &aborted, Verdict::Pass, "aborted");
    let went_on = obs(vec![conn(
        PG_SSL_REQUEST,
        Some(PG_STARTUP),
        SessionEnd::Machine(CloseReason::Eof),
    )]);
    check(&injection, &went_on, Verdict::Warn, "CVE-2021-23222");
}

#[test]
fn postgres_a_valid_chain_passes_without_anything_asked_again() {
    let valid = case(Dialect::Postgres, Scenario::Valid, Behaviour::Honest);
    let done = obs(vec![conn(
        PG_SSL_REQUEST,
        Some(PG_STARTUP),
        SessionEnd::Machine(CloseReason::Quit),
    )]);
    check(&valid, &done, Verdict::Pass, "handshake completed");
}
