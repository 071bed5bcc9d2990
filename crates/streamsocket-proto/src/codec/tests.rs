//! Tests of the frame codec.

use super::*;

#[test]
fn encode_then_decode_round_trips() {
    let codec = FrameCodec::default();
    let mut wire = Vec::new();
    codec.encode("héllo", &mut wire).unwrap();
    codec.encode("", &mut wire).unwrap();
    assert_eq!(&wire[..4], &[0, 0, 0, 6]);
    let (used, first) = codec.decode(&wire).unwrap().unwrap();
    assert_eq!((used, first.as_str()), (10, "héllo"));
    assert_eq!(
        codec.decode(&wire[used..]).unwrap(),
        Some((4, String::new()))
    );
}

#[test]
fn incomplete_frames_are_not_decoded() {
    let codec = FrameCodec::default();
    let mut wire = Vec::new();
    codec.encode("hello", &mut wire).unwrap();
    for end in 0..wire.len() {
        assert_eq!(
            codec.decode(&wire[..end]).unwrap(),
            None,
            "prefix of {end} bytes"
        );
    }
}

#[test]
fn default_limit_is_one_mebibyte() {
    assert_eq!(FrameCodec::default().max_frame_len(), 1 << 20);
    assert_eq!(DEFAULT_MAX_FRAME_LEN, 1 << 20);
}

#[test]
fn limit_must_stay_below_the_tls_handshake_byte() {
    assert_eq!(
        FrameCodec::new(FRAME_LEN_CEILING),
        Err(FrameError::LimitTooHigh(0x1600_0000))
    );
    assert_eq!(
        FrameCodec::new(u32::MAX),
        Err(FrameError::LimitTooHigh(u32::MAX))
    );
    let highest = FrameCodec::new(FRAME_LEN_CEILING - 1).unwrap();
    assert_eq!(highest.max_frame_len(), 0x15ff_ffff);
}

#[test]
fn over_limit_length_is_rejected_from_the_header_alone() {
    let codec = FrameCodec::new(10).unwrap();
    // Only the four length bytes: the payload is not there, the error comes anyway.
    assert_eq!(
        codec.decode(&[0, 0, 0, 11]),
        Err(FrameError::TooLong {
            declared: 11,
            max: 10
        })
    );
    assert_eq!(
        codec.decode(&[0xff, 0xff, 0xff, 0xff]),
        Err(FrameError::TooLong {
            declared: u64::from(u32::MAX),
            max: 10
        })
    );
    // Exactly at the limit is fine.
    let mut wire = vec![0, 0, 0, 10];
    wire.extend_from_slice(b"0123456789");
    assert_eq!(
        codec.decode(&wire).unwrap(),
        Some((14, "0123456789".to_owned()))
    );
}

#[test]
fn a_client_hello_is_never_a_valid_frame_header() {
    let codec = FrameCodec::new(FRAME_LEN_CEILING - 1).unwrap();
    assert!(matches!(
        codec.decode(&[0x16, 0x03, 0x01, 0x02]),
        Err(FrameError::TooLong { .. })
    ));
}

#[test]
fn encoding_an_over_limit_payload_appends_nothing() {
    let codec = FrameCodec::new(3).unwrap();
    let mut out = b"keep".to_vec();
    assert_eq!(
        codec.encode("four", &mut out),
        Err(FrameError::TooLong {
            declared: 4,
            max: 3
        })
    );
    assert_eq!(out, b"keep");
}

#[test]
fn invalid_utf8_payload_is_an_error() {
    let codec = FrameCodec::default();
    assert_eq!(
        codec.decode(&[0, 0, 0, 2, 0xc3, 0x28]),
        Err(FrameError::InvalidUtf8)
    );
}

#[test]
fn error_messages_are_lowercase_without_final_period() {
    for error in [
        FrameError::TooLong {
            declared: 5,
            max: 4,
        },
        FrameError::InvalidUtf8,
        FrameError::LimitTooHigh(FRAME_LEN_CEILING),
    ] {
        let message = error.to_string();
        assert!(message.starts_with(|c: char| c.is_lowercase()), "{message}");
        assert!(!message.ends_with('.'), "{message}");
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_payload_round_trips(payload in ".{0,200}") {
            let codec = FrameCodec::default();
            let mut wire = Vec::new();
            codec.encode(&payload, &mut wire).unwrap();
            prop_assert_eq!(codec.decode(&wire).unwrap(), Some((wire.len(), payload)));
        }

        /// Fed one prefix at a time, `missing` asks for the header first, then counts down to
        /// exactly the frame's end, where `decode` returns it; it never asks for a byte of what
        /// follows.
        #[test]
        fn missing_counts_down_to_the_frame_end(payload in ".{0,64}", tail in proptest::collection::vec(any::<u8>(), 0..8)) {
            let codec = FrameCodec::default();
            let mut wire = Vec::new();
            codec.encode(&payload, &mut wire).unwrap();
            let frame_len = wire.len();
            wire.extend_from_slice(&tail);
            for cut in 0..=frame_len {
                let expected = if cut < HEADER_LEN { HEADER_LEN - cut } else { frame_len - cut };
                prop_assert_eq!(codec.missing(&wire[..cut]).unwrap(), expected);
                prop_assert_eq!(codec.decode(&wire[..cut]).unwrap().is_some(), cut == frame_len);
            }
            prop_assert_eq!(codec.missing(&wire).unwrap(), 0);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = FrameCodec::new(16).unwrap().decode(&bytes);
        }

        #[test]
        fn declared_length_over_the_limit_is_always_an_error(
            max in 0u32..1000, excess in 1u32..u32::MAX / 2,
        ) {
            let codec = FrameCodec::new(max).unwrap();
            let declared = max.saturating_add(excess);
            let header = declared.to_be_bytes();
            prop_assert!(matches!(codec.decode(&header), Err(FrameError::TooLong { .. })), "declared {}", declared);
            prop_assert!(matches!(codec.missing(&header), Err(FrameError::TooLong { .. })), "declared {}", declared);
        }
    }
}
