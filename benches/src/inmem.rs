//! M: a rustls client and server pumping bytes through buffers, with no sockets and no runtime.
//!
//! This is the upper bound for the handshake rate and for crypto throughput: everything the
//! socket-based parties do beyond it is I/O, scheduling and their own code.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use rustls::{ClientConfig, ClientConnection, HandshakeKind, ServerConfig, ServerConnection};

use crate::loopback::ECHO_UNIT;
use crate::setup::{TlsSetup, server_name};

/// A reusable in-memory client/server pair of configurations with scratch buffers.
#[derive(Debug)]
pub struct InMemory {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    expected: HandshakeKind,
    wire: Vec<u8>,
}

impl InMemory {
    /// Builds both configurations from `setup`; with resumption, runs one full handshake so that
    /// every measured one resumes.
    pub fn new(setup: &TlsSetup) -> anyhow::Result<Self> {
        let mut pair = Self {
            client: setup.client_config(),
            server: setup.server_config(),
            expected: HandshakeKind::Full,
            wire: Vec::with_capacity(64 * 1024),
        };
        if setup.resumption {
            pair.handshake()?;
            pair.expected = HandshakeKind::Resumed;
        }
        Ok(pair)
    }

    /// One handshake unit: a fresh client and server connection, the handshake, and the echo of
    /// [`ECHO_UNIT`] (so the server has finished and the client has read any tickets).
    ///
    /// Checks that the handshake kind matches the setup (full, or resumed).
    pub fn handshake(&mut self) -> anyhow::Result<()> {
        let mut client = ClientConnection::new(self.client.clone(), server_name())?;
        let mut server = ServerConnection::new(self.server.clone())?;
        self.pump(&mut client, &mut server)?;
        client.writer().write_all(&ECHO_UNIT)?;
        self.pump(&mut client, &mut server)?;
        let mut echo = [0u8; ECHO_UNIT.len()];
        server.reader().read_exact(&mut echo)?;
        server.writer().write_all(&echo)?;
        self.pump(&mut client, &mut server)?;
        client.reader().read_exact(&mut echo)?;
        ensure!(echo == ECHO_UNIT, "echo differs");
        ensure!(!client.is_handshaking() && !server.is_handshaking());
        let kind = client.handshake_kind();
        ensure!(
            kind == Some(self.expected),
            "handshake kind {kind:?}, expected {:?}",
            self.expected
        );
        Ok(())
    }

    /// Runs `n` handshake units and returns the time they took.
    pub fn handshakes(&mut self, n: u64) -> anyhow::Result<Duration> {
        let start = Instant::now();
        for _ in 0..n {
            self.handshake()?;
        }
        Ok(start.elapsed())
    }

    /// Moves TLS bytes both ways until neither side has anything to send.
    fn pump(
        &mut self,
        client: &mut ClientConnection,
        server: &mut ServerConnection,
    ) -> anyhow::Result<()> {
        loop {
            let mut moved = false;
            while client.wants_write() {
                self.wire.clear();
                client.write_tls(&mut self.wire)?;
                feed(&self.wire, |mut slice| server.read_tls(&mut slice))?;
                server.process_new_packets().context("server")?;
                moved = true;
            }
            while server.wants_write() {
                self.wire.clear();
                server.write_tls(&mut self.wire)?;
                feed(&self.wire, |mut slice| client.read_tls(&mut slice))?;
                client.process_new_packets().context("client")?;
                moved = true;
            }
            if !moved {
                return Ok(());
            }
        }
    }
}

/// One-way bulk transfer in memory: the client encrypts `total` bytes in `chunk`-byte writes
/// and the server decrypts them into a `chunk`-byte buffer, on one thread.
#[derive(Debug)]
pub struct InMemoryBulk {
    client: ClientConnection,
    server: ServerConnection,
    wire: Vec<u8>,
    plain: Vec<u8>,
    sink: Vec<u8>,
}

impl InMemoryBulk {
    /// Connects a pair (full handshake) for `setup`, with `chunk`-byte application buffers.
    pub fn new(setup: &TlsSetup, chunk: usize) -> anyhow::Result<Self> {
        let mut client = ClientConnection::new(setup.client_config(), server_name())?;
        let mut server = ServerConnection::new(setup.server_config())?;
        let mut wire = Vec::with_capacity(chunk + 1024);
        while client.is_handshaking() || server.is_handshaking() {
            wire.clear();
            client.write_tls(&mut wire)?;
            feed(&wire, |mut slice| server.read_tls(&mut slice))?;
            server.process_new_packets()?;
            wire.clear();
            server.write_tls(&mut wire)?;
            feed(&wire, |mut slice| client.read_tls(&mut slice))?;
            client.process_new_packets()?;
        }
        // The client needs no buffer limit: it flushes after every write.
        client.set_buffer_limit(None);
        Ok(Self {
            client,
            server,
            wire,
            plain: vec![0x5a; chunk],
            sink: vec![0; chunk],
        })
    }

    /// Moves `total` bytes from client to server and returns the time it took.
    pub fn transfer(&mut self, total: u64) -> anyhow::Result<Duration> {
        let chunk = self.plain.len() as u64;
        let start = Instant::now();
        let mut sent = 0u64;
        let mut received = 0u64;
        while sent < total {
            let n = chunk.min(total - sent) as usize;
            self.client.writer().write_all(&self.plain[..n])?;
            sent += n as u64;
            while self.client.wants_write() {
                self.wire.clear();
                self.client.write_tls(&mut self.wire)?;
                let mut offset = 0;
                while offset < self.wire.len() {
                    offset += self.server.read_tls(&mut &self.wire[offset..])?;
                    self.server.process_new_packets()?;
                    received += drain(&mut self.server, &mut self.sink)?;
                }
            }
        }
        ensure!(received == total, "received {received} of {total} bytes");
        Ok(start.elapsed())
    }
}

/// Hands all of `wire` to a connection's `read_tls`, which may take it in parts.
fn feed(
    wire: &[u8],
    mut read_tls: impl FnMut(&[u8]) -> std::io::Result<usize>,
) -> anyhow::Result<()> {
    let mut offset = 0;
    while offset < wire.len() {
        let n = read_tls(&wire[offset..])?;
        ensure!(n > 0, "peer refused TLS bytes");
        offset += n;
    }
    Ok(())
}

/// Reads every decrypted byte out of the server into `sink`, returning how many.
fn drain(server: &mut ServerConnection, sink: &mut [u8]) -> anyhow::Result<u64> {
    let mut total = 0u64;
    loop {
        match server.reader().read(sink) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return Ok(total),
            Err(err) => return Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_resumed_handshakes_complete() {
        let setup = TlsSetup::default();
        // Each handshake checks its kind: full, or resumed after the first.
        InMemory::new(&setup).unwrap().handshakes(3).unwrap();
        InMemory::new(&setup.resumed())
            .unwrap()
            .handshakes(3)
            .unwrap();
    }

    #[test]
    fn bulk_moves_every_byte() {
        let mut bulk = InMemoryBulk::new(&TlsSetup::default(), 16 * 1024).unwrap();
        bulk.transfer(1024 * 1024 + 7).unwrap();
    }
}
