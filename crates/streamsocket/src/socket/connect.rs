//! Opening the TCP connection: resolve, then race the addresses as Happy Eyeballs does
//! (RFC 8305), all within the connect timeout.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use super::StreamSocket;
use crate::{Error, service};

impl StreamSocket {
    /// Resolves and connects within the connect timeout, racing the addresses (see
    /// [`race`](Self::race)). Returns the stream and the address it is connected to.
    pub(super) async fn open(
        &self,
        local: Option<SocketAddr>,
        host: &str,
        port: u16,
    ) -> Result<(TcpStream, SocketAddr), Error> {
        let timeout = self.control.connect_timeout();
        let deadline = Instant::now() + timeout;
        let timed_out = || Error::ConnectTimedOut {
            host: host.to_owned(),
            timeout,
        };
        let mut addrs = match tokio::time::timeout_at(deadline, resolve(host, port)).await {
            Ok(addrs) => addrs?,
            Err(_elapsed) => return Err(timed_out()),
        };
        if let Some(local) = local {
            addrs.retain(|addr| addr.is_ipv4() == local.is_ipv4());
        }
        if addrs.is_empty() {
            return Err(Error::HostNotFound {
                host: host.to_owned(),
                source: None,
            });
        }
        let (addr, err) =
            match tokio::time::timeout_at(deadline, self.race(local, interleave(addrs))).await {
                Ok(Ok(connected)) => return Ok(connected),
                Ok(Err(failed)) => failed,
                Err(_elapsed) => return Err(timed_out()),
            };
        let source = Arc::new(err);
        Err(match source.kind() {
            io::ErrorKind::ConnectionRefused => Error::ConnectionRefused {
                host: host.to_owned(),
                addr,
                source,
            },
            io::ErrorKind::TimedOut => timed_out(),
            _ => Error::Connect {
                host: host.to_owned(),
                addr,
                source,
            },
        })
    }

    /// Happy Eyeballs' connection attempts (RFC 8305 section 5) over `addrs`, in their order:
    /// the next attempt starts [`ATTEMPT_DELAY`] after the last one began, or at once when an
    /// attempt fails; attempts already started go on; the first connection wins and the
    /// others are dropped (closed). When every attempt has failed, the last failure.
    ///
    /// With a fixed local port (`connect_endpoints`), two attempts cannot both bind it, so
    /// attempts do not overlap: the next starts only when one fails.
    pub(super) async fn race(
        &self,
        local: Option<SocketAddr>,
        addrs: Vec<SocketAddr>,
    ) -> Result<(TcpStream, SocketAddr), (SocketAddr, io::Error)> {
        let mut waiting = addrs.into_iter();
        let mut next = waiting.next();
        if let (Some(addr), 0) = (next, waiting.len()) {
            // One address: nothing to race.
            return match self.try_connect(local, addr).await {
                Ok(stream) => Ok((stream, addr)),
                Err(err) => Err((addr, err)),
            };
        }
        let overlap = local.is_none_or(|local| local.port() == 0);
        let mut running = futures_util::stream::FuturesUnordered::new();
        let mut last = None;
        loop {
            if let Some(addr) = next.take() {
                running.push(async move { (addr, self.try_connect(local, addr).await) });
            }
            if running.is_empty() {
                // Only after a failure: the list is never empty.
                return Err(last.unwrap_or_else(|| {
                    let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
                    (nowhere, io::Error::other("no address to connect to"))
                }));
            }
            let more = overlap && waiting.len() > 0;
            tokio::select! {
                Some((addr, result)) = futures_util::StreamExt::next(&mut running) => match result {
                    Ok(stream) => return Ok((stream, addr)),
                    Err(err) => {
                        tracing::debug!(%addr, %err, "connect attempt failed");
                        last = Some((addr, err));
                        next = waiting.next();
                    }
                },
                () = tokio::time::sleep(ATTEMPT_DELAY), if more => next = waiting.next(),
            }
        }
    }

    pub(super) async fn try_connect(
        &self,
        local: Option<SocketAddr>,
        addr: SocketAddr,
    ) -> io::Result<TcpStream> {
        let socket = self.socket_for(local, addr)?;
        socket.connect(addr).await
    }

    /// A socket for `addr` with the control's options applied, before the SYN is sent (so the
    /// hop limit covers the whole connection). The hop limit is IPv4's TTL or IPv6's unicast
    /// hop limit, as the address's family needs.
    pub(super) fn socket_for(
        &self,
        local: Option<SocketAddr>,
        addr: SocketAddr,
    ) -> io::Result<TcpSocket> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_nodelay(self.control.no_delay())?;
        // A new socket has keep-alive off: only turning it on needs a system call.
        if self.control.keep_alive() {
            socket.set_keepalive(true)?;
        }
        if let Some(size) = self.control.outbound_buffer_size() {
            socket.set_send_buffer_size(size)?;
        }
        if let Some(hops) = self.control.hop_limit() {
            let options = socket2::SockRef::from(&socket);
            if addr.is_ipv4() {
                options.set_ttl_v4(hops)?;
            } else {
                options.set_unicast_hops_v6(hops)?;
            }
        }
        if let Some(local) = local {
            socket.bind(local)?;
        }
        Ok(socket)
    }
}

/// RFC 8305's Connection Attempt Delay: how long an attempt has alone before the next begins.
const ATTEMPT_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

/// The addresses with their families alternating, starting with the first address's family,
/// each family in the resolver's order (RFC 8305 section 4).
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(SocketAddr::is_ipv6);
    let (first, second): (Vec<_>, Vec<_>) = addrs
        .into_iter()
        .partition(|addr| addr.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(first.len() + second.len());
    let mut first = first.into_iter();
    let mut second = second.into_iter();
    loop {
        match (first.next(), second.next()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// The addresses of `host`: itself if it is an IP literal, else what the resolver says.
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
    if let Some(ip) = service::parse_ip(host) {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|err| Error::HostNotFound {
            host: host.to_owned(),
            source: Some(Arc::new(err)),
        })?;
    Ok(addrs.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::SocketControl;

    #[test]
    fn address_families_alternate_from_the_first_one() {
        let v4 = |n: u8| SocketAddr::from(([127, 0, 0, n], 1));
        let v6 = |n: u16| SocketAddr::from((std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, n), 1));
        assert_eq!(
            interleave(vec![v6(1), v6(2), v6(3), v4(1), v4(2)]),
            [v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(interleave(vec![v4(1), v6(1), v4(2)]), [v4(1), v6(1), v4(2)]);
        assert_eq!(interleave(vec![v4(1), v4(2)]), [v4(1), v4(2)]);
        assert!(interleave(Vec::new()).is_empty());
    }

    /// A loopback address where connection attempts hang: a listener that never accepts, with
    /// its accept queue full, so the kernel drops further SYNs. Keep the result alive.
    fn blackhole() -> (
        SocketAddr,
        tokio::net::TcpListener,
        Vec<std::net::TcpStream>,
    ) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        while let Ok(stream) =
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200))
        {
            fillers.push(stream);
            assert!(fillers.len() < 64, "the accept queue never filled");
        }
        (addr, listener, fillers)
    }

    /// A loopback address that refuses connections (a port nobody listens on any more).
    fn refusing() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    async fn race(addrs: Vec<SocketAddr>) -> Result<SocketAddr, (SocketAddr, io::ErrorKind)> {
        let socket = StreamSocket::new();
        let raced =
            tokio::time::timeout(std::time::Duration::from_secs(20), socket.race(None, addrs))
                .await
                .expect("the race ends by itself");
        raced
            .map(|(_, addr)| addr)
            .map_err(|(addr, err)| (addr, err.kind()))
    }

    #[tokio::test]
    async fn an_address_that_never_answers_does_not_hold_up_the_next() {
        let (hole, _listener, _fillers) = blackhole();
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = server.local_addr().unwrap();
        let started = Instant::now();
        assert_eq!(race(vec![hole, good]).await, Ok(good));
        assert!(
            started.elapsed() >= ATTEMPT_DELAY,
            "the second attempt waited for the attempt delay"
        );
    }

    #[tokio::test]
    async fn a_refused_address_hands_over_at_once_and_the_last_failure_is_reported() {
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = server.local_addr().unwrap();
        let refused = refusing();
        assert_eq!(race(vec![refused, good]).await, Ok(good));

        let (first, second) = (refusing(), refusing());
        assert_eq!(
            race(vec![first, second]).await,
            Err((second, io::ErrorKind::ConnectionRefused))
        );

        // From a fixed local port the attempts take turns, so each can bind it.
        let local = refusing();
        let socket = StreamSocket::new();
        let raced = socket.race(Some(local), vec![refusing(), good]).await;
        let (stream, addr) = raced.map_err(|(_, err)| err).unwrap();
        assert_eq!(addr, good);
        assert_eq!(stream.local_addr().unwrap(), local);
    }

    #[test]
    fn the_hop_limit_is_set_before_connecting_for_either_family() {
        let mut control = SocketControl::default();
        control.set_hop_limit(Some(17)).unwrap();
        control.set_keep_alive(true).unwrap();
        let socket = StreamSocket::with_control(control);
        let v4 = socket
            .socket_for(None, SocketAddr::from(([127, 0, 0, 1], 9)))
            .unwrap();
        assert_eq!(socket2::SockRef::from(&v4).ttl_v4().unwrap(), 17);
        assert!(v4.keepalive().unwrap());
        let v6 = socket
            .socket_for(None, SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 9)))
            .unwrap();
        assert_eq!(socket2::SockRef::from(&v6).unicast_hops_v6().unwrap(), 17);

        // Without a hop limit the system's default stays (64 on Linux, never 17).
        let plain = StreamSocket::new();
        let v6 = plain
            .socket_for(None, SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 9)))
            .unwrap();
        assert_ne!(socket2::SockRef::from(&v6).unicast_hops_v6().unwrap(), 17);
        assert!(!v6.keepalive().unwrap());
    }
}
