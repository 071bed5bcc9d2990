//! The `frame_decoder` target: the frame codec, and the `Framed` server fed the same stream.

use streamsocket_proto::codec::{FRAME_LEN_CEILING, FrameCodec, FrameError, HEADER_LEN};
use streamsocket_proto::starttls::{
    CloseReason, Dialect, MAX_TLS_PREFIX, ServerEvent, ServerMachine, ServerSettings,
};

/// The frame limits the `frame_decoder` target picks from (byte 0 modulo 6).
const FRAME_LIMITS: [u32; 6] = [0, 1, 5, 32, 1 << 20, FRAME_LEN_CEILING - 1];

/// `frame_decoder`: byte 0 picks a limit, the rest is a byte stream. Oracles: [`FrameCodec`]
/// decodes frame after frame consistently (every prefix of a frame is incomplete, a too-long
/// header fails as soon as its four bytes are there, payloads re-encode to the same bytes), and
/// a `Framed` server machine fed the same stream, whole and one byte at a time, reports the same
/// frames and the same end (a `0x16` at a frame boundary starts TLS instead).
pub fn frame_decoder(data: &[u8]) {
    let (limit_byte, stream) = data.split_first().unwrap_or((&0, &[]));
    let max = FRAME_LIMITS[usize::from(*limit_byte) % FRAME_LIMITS.len()];
    // Every entry of FRAME_LIMITS is below the ceiling.
    let codec = FrameCodec::new(max).expect("limits are below the ceiling");
    assert!(matches!(
        FrameCodec::new(FRAME_LEN_CEILING),
        Err(FrameError::LimitTooHigh(_))
    ));
    let mut frames = Vec::new();
    let mut rest = stream;
    let end = loop {
        if rest.first() == Some(&0x16) {
            break FrameEnd::TlsStart;
        }
        match codec.decode(rest) {
            Ok(Some((consumed, text))) => {
                assert_eq!(consumed, HEADER_LEN + text.len());
                assert!(consumed <= rest.len());
                assert!(text.len() <= max as usize);
                let mut wire = Vec::new();
                codec
                    .encode(&text, &mut wire)
                    .expect("decoded payload fits");
                assert_eq!(wire.as_slice(), &rest[..consumed], "re-encoding differs");
                for cut in 0..consumed {
                    assert_eq!(
                        codec.decode(&rest[..cut]),
                        Ok(None),
                        "prefix of {cut} bytes"
                    );
                }
                frames.push(text);
                rest = &rest[consumed..];
            }
            Ok(None) => {
                if let Some(header) = rest.first_chunk::<HEADER_LEN>() {
                    let declared = u32::from_be_bytes(*header);
                    assert!(declared <= max, "incomplete but above the limit");
                    assert!(rest.len() < HEADER_LEN + declared as usize);
                }
                break FrameEnd::Incomplete;
            }
            Err(FrameError::TooLong { declared, max: m }) => {
                assert_eq!(m, max);
                assert!(declared > u64::from(max));
                // Fails on the header alone, before the payload is there.
                assert!(codec.decode(&rest[..HEADER_LEN]).is_err());
                break FrameEnd::TooLong;
            }
            Err(FrameError::InvalidUtf8) => {
                let declared =
                    u32::from_be_bytes(*rest.first_chunk::<HEADER_LEN>().unwrap_or(&[0; 4]));
                let payload = &rest[HEADER_LEN..HEADER_LEN + declared as usize];
                assert!(std::str::from_utf8(payload).is_err());
                break FrameEnd::InvalidUtf8;
            }
            Err(other) => panic!("decode failed with {other:?}"),
        }
    };
    let config = ServerSettings {
        max_frame_len: max,
        ..ServerSettings::default()
    };
    let whole: Vec<&[u8]> = vec![stream];
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    for chunks in [whole, bytewise] {
        let mut server = ServerMachine::new(Dialect::Framed, config.clone());
        let mut events = Vec::new();
        for chunk in &chunks {
            server.handle_input(chunk);
            assert!(
                server.buffered_len() <= (max as usize).max(HEADER_LEN) + MAX_TLS_PREFIX,
                "server buffers {} bytes",
                server.buffered_len()
            );
            while let Some(event) = server.poll_event() {
                events.push(event);
            }
            assert_eq!(
                server.poll_transmit(),
                None,
                "framed server answered before tls"
            );
        }
        let mut expected: Vec<ServerEvent> =
            frames.iter().cloned().map(ServerEvent::Frame).collect();
        match end {
            FrameEnd::Incomplete => {}
            FrameEnd::TlsStart => expected.push(ServerEvent::StartTls),
            FrameEnd::TooLong => expected.push(ServerEvent::Close(CloseReason::FrameTooLong)),
            FrameEnd::InvalidUtf8 => {
                expected.push(ServerEvent::Close(CloseReason::InvalidUtf8Frame));
            }
        }
        assert_eq!(events, expected, "server and codec disagree");
    }
}

#[derive(Clone, Copy, Debug)]
enum FrameEnd {
    Incomplete,
    TlsStart,
    TooLong,
    InvalidUtf8,
}
