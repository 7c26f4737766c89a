//! Who is calling, read from the request: the extractors every protected endpoint goes through
//! (a session's user, an enrolled device, an uploading device) and the client's address behind
//! trusted proxies. The rules they apply (tokens, scope, throttles) are in `crate::auth`.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};

use super::{ApiError, AppState, lang_of};
use crate::accounts::SessionUser;
use crate::auth::{ClientAddr, TrustedProxies, canonical, token_hash};

/// The caller of a protected endpoint: a live session's user. Every protected handler takes one;
/// no handler reads the Authorization header itself.
#[derive(Debug, Clone)]
pub struct Caller(pub SessionUser);

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_token(&parts.headers)
}

/// The bearer token of a request's `Authorization` header, if it has one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Read once per request: extractors built on this one (`Staff`, `Scoped`) ask again.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let lang = lang_of(&parts.headers);
        let Some(token) = bearer(parts) else {
            return Err(ApiError::unauthenticated(lang));
        };
        let now = chrono::Utc::now().timestamp_millis();
        match crate::accounts::session_user(&*state.store, token_hash(token), now).await {
            Ok(Some(user)) => {
                parts.extensions.insert(Caller(user.clone()));
                Ok(Caller(user))
            }
            Ok(None) => Err(ApiError::unauthenticated(lang)),
            Err(e) => Err(ApiError::store(e, lang)),
        }
    }
}

/// The caller of a device endpoint: an enrolled, unrevoked device.
#[derive(Debug, Clone)]
pub struct Device(pub crate::devices::DeviceCaller);

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // An uploader that is not revoked: the token is looked up in one place.
        let Uploader(d) = Uploader::from_request_parts(parts, state).await?;
        if d.revoked {
            return Err(ApiError::device_revoked(lang_of(&parts.headers)));
        }
        Ok(Device(d))
    }
}

/// The caller of an upload endpoint (visit and venue pushes, photo register and chunks): an
/// enrolled device, revoked or not. A revoked phone uploads what it still holds before it erases
/// itself (nothing collected is lost); what it sends is stored like anything else and flagged for
/// the leader, and it can read nothing (every other device endpoint takes [`Device`]).
#[derive(Debug, Clone)]
pub struct Uploader(pub crate::devices::DeviceCaller);

impl FromRequestParts<AppState> for Uploader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let Some(token) = bearer(parts) else {
            return Err(ApiError::unauthenticated(lang));
        };
        match crate::devices::device_by_token(&*state.store, token_hash(token)).await {
            Ok(Some(d)) => {
                outdated(parts, state)?;
                Ok(Uploader(d))
            }
            Ok(None) => Err(ApiError::unauthenticated(lang)),
            Err(e) => Err(ApiError::store(e, lang)),
        }
    }
}

/// Refuses a field app older than the server's `min_app_version` (it names itself in its
/// User-Agent); a client that names no version (a script, the simulator) is not judged.
fn outdated(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    let Some(least) = state.limits.min_app_version.as_deref() else { return Ok(()) };
    let agent = parts.headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    match doorstep_domain::protocol::field_app_version(agent) {
        Some(version) if doorstep_domain::protocol::older_version(version, least) => {
            Err(ApiError::app_outdated(version, least, lang_of(&parts.headers)))
        }
        _ => Ok(()),
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        match peer {
            Some(peer) => Ok(ClientAddr(client_ip(peer, &parts.headers, &state.limits.trusted_proxies))),
            // Served without the connection's address: a server set up wrongly, not the client.
            None => {
                Err(ApiError::of(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", lang_of(&parts.headers))
                    .messages(doorstep_domain::Messages {
                        vi: "Lỗi máy chủ: không biết địa chỉ của kết nối.".into(),
                        en: "Server error: the connection's address is unknown.".into(),
                    }))
            }
        }
    }
}

/// The client's address: `peer` itself unless it is a trusted proxy; then the rightmost address
/// of the forwarding chain that is not itself a trusted proxy, read from `Forwarded` (RFC 7239,
/// `for=`) or `X-Forwarded-For`. Each proxy appends the address it was reached from, so
/// everything left of that hop is the client's own word and is never read. `X-Real-IP` is never
/// read.
///
/// A proxy sets one of the two headers, and a client may send the other one forged through it:
/// when both are present and name different clients, neither is believed and the peer is the
/// client (a forger then shares one count with every other forger behind that proxy, and honest
/// clients are not among them). A hop a trusted proxy wrote that cannot be read (`unknown`, an
/// obfuscated name, garbage) stops the walk at that proxy; a chain of nothing but trusted
/// proxies names its farthest hop.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.trusts(peer) {
        return peer;
    }
    let forwarded = header_list(headers, &header::FORWARDED).map(|v| walk(peer, &forwarded_hops(&v), trusted));
    let x_forwarded = header_list(headers, "x-forwarded-for").map(|v| walk(peer, &x_forwarded_hops(&v), trusted));
    match (forwarded, x_forwarded) {
        (Some(a), Some(b)) if a != b => peer,
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => peer,
    }
}

/// Every field of a header joined by commas (which is what several fields mean); `Some("")` for a
/// field that is not text, which reads as one unreadable hop.
fn header_list(headers: &HeaderMap, name: impl axum::http::header::AsHeaderName) -> Option<String> {
    let mut joined: Option<String> = None;
    for value in headers.get_all(name) {
        let text = value.to_str().unwrap_or("");
        joined = Some(match joined {
            Some(j) => format!("{j},{text}"),
            None => text.to_string(),
        });
    }
    joined
}

fn walk(peer: IpAddr, hops: &[Option<IpAddr>], trusted: &TrustedProxies) -> IpAddr {
    // The nearest trusted proxy so far: the last address whose word is known to be honest.
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        match hop.map(canonical) {
            Some(ip) if trusted.trusts(ip) => nearest = ip,
            Some(ip) => return ip,
            None => return nearest,
        }
    }
    nearest
}

/// Splits `s` at `sep` outside double quotes (a backslash escapes within them).
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The hops of `Forwarded` elements, nearest last: each element's `for=`, or `None` where it
/// has none or it is not an address.
fn forwarded_hops(value: &str) -> Vec<Option<IpAddr>> {
    split_unquoted(value, ',')
        .into_iter()
        .map(|element| {
            let for_value = split_unquoted(element, ';').into_iter().find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| value.trim())
            })?;
            let unquoted = match for_value.strip_prefix('"') {
                Some(rest) => {
                    let inner = rest.strip_suffix('"')?;
                    inner.replace('\\', "")
                }
                None => for_value.to_string(),
            };
            hop_address(&unquoted)
        })
        .collect()
}

/// The hops of `X-Forwarded-For`, nearest last.
fn x_forwarded_hops(value: &str) -> Vec<Option<IpAddr>> {
    value.split(',').map(|hop| hop_address(hop.trim())).collect()
}

/// An address as proxies write it: `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::7`, `[2001:db8::7]`
/// or `[2001:db8::7]:4711`; anything else (`unknown`, `_hidden`, garbage) is `None`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Some(rest) = hop.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        return inside.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    let (address, port) = hop.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    address.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_forms() {
        let parts = |v: &str| {
            let (parts, ()) = axum::http::Request::builder().header("authorization", v).body(()).unwrap().into_parts();
            parts
        };
        assert_eq!(bearer(&parts("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&parts("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&parts("Basic abc")), None);
        assert_eq!(bearer(&parts("Bearer ")), None);
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hops_are_read_with_ports_brackets_and_quotes() {
        assert_eq!(hop_address("192.0.2.7"), Some(ip("192.0.2.7")));
        assert_eq!(hop_address("192.0.2.7:4711"), Some(ip("192.0.2.7")));
        assert_eq!(hop_address("2001:db8::7"), Some(ip("2001:db8::7")));
        assert_eq!(hop_address("[2001:db8::7]"), Some(ip("2001:db8::7")));
        assert_eq!(hop_address("[2001:db8::7]:4711"), Some(ip("2001:db8::7")));
        for garbage in [
            "",
            "unknown",
            "_hidden",
            "192.0.2.7:",
            "192.0.2.7:port",
            "[2001:db8::7",
            "[2001:db8::7]x",
            "[192.0.2.7]",
            "300.1.1.1",
            "example.org",
            "192.0.2.7 10.0.0.1",
        ] {
            assert_eq!(hop_address(garbage), None, "{garbage:?}");
        }
        assert_eq!(
            forwarded_hops(
                r#"for=192.0.2.43, For="[2001:db8:cafe::17]:4711";proto=https, for=unknown, by=10.0.0.1, for="_gazonk""#
            ),
            vec![Some(ip("192.0.2.43")), Some(ip("2001:db8:cafe::17")), None, None, None]
        );
        // Quoted values may hold commas and semicolons; they do not split elements.
        assert_eq!(
            forwarded_hops(r#"for="198.51.100.17:80";by="a,b;c", proto=http;for=203.0.113.9"#),
            vec![Some(ip("198.51.100.17")), Some(ip("203.0.113.9"))]
        );
        assert_eq!(forwarded_hops(r#"for="192.0.2.43"#), vec![None], "an unclosed quote");
        assert_eq!(
            x_forwarded_hops(" 203.0.113.9 , 10.0.0.2:81,garbage,[::1]:3"),
            vec![Some(ip("203.0.113.9")), Some(ip("10.0.0.2")), None, Some(ip("::1"))]
        );
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop_and_only_a_trusted_peer_is_believed() {
        let proxies = TrustedProxies::parse("10.0.0.0/8,fd00::/8").unwrap();
        let none = TrustedProxies::default();
        let nginx = ip("10.0.0.2");
        let xff = |v: &str| headers(&[("x-forwarded-for", v)]);

        // Without the option, or from a peer that is not a proxy, no header is read.
        assert_eq!(client_ip(nginx, &xff("203.0.113.9"), &none), nginx);
        let stranger = ip("198.51.100.1");
        assert_eq!(client_ip(stranger, &xff("203.0.113.9"), &proxies), stranger);
        assert_eq!(client_ip(stranger, &headers(&[("forwarded", "for=203.0.113.9")]), &proxies), stranger);

        // Behind the proxy: the address it appended; what the client wrote to its left is not read.
        assert_eq!(client_ip(nginx, &xff("203.0.113.9"), &proxies), ip("203.0.113.9"));
        assert_eq!(client_ip(nginx, &xff("1.1.1.1, 203.0.113.9"), &proxies), ip("203.0.113.9"));
        // Several trusted hops (a load balancer, then nginx) are walked over.
        assert_eq!(client_ip(nginx, &xff("1.1.1.1, 203.0.113.9, 10.9.9.9, 10.0.0.7"), &proxies), ip("203.0.113.9"));
        // Several header fields read as one list, in order.
        assert_eq!(
            client_ip(nginx, &headers(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "203.0.113.9")]), &proxies),
            ip("203.0.113.9")
        );
        // IPv6 clients, with ports, and an IPv6 proxy.
        assert_eq!(client_ip(ip("fd00::1"), &xff("[2001:db8::9]:5000"), &proxies), ip("2001:db8::9"));
        assert_eq!(
            client_ip(
                nginx,
                &headers(&[("forwarded", r#"for=1.1.1.1, for="[2001:db8::9]:443";proto=https"#)]),
                &proxies
            ),
            ip("2001:db8::9")
        );
        // A hop a trusted proxy wrote that cannot be read stops at that proxy, never past it.
        assert_eq!(client_ip(nginx, &xff("203.0.113.9, unknown"), &proxies), nginx);
        assert_eq!(client_ip(nginx, &xff("203.0.113.9, garbage, 10.0.0.7"), &proxies), ip("10.0.0.7"));
        assert_eq!(client_ip(nginx, &headers(&[("forwarded", "for=_hidden")]), &proxies), nginx);
        // Garbage left of the client's hop is the client's own word: not read.
        assert_eq!(client_ip(nginx, &xff("garbage, 203.0.113.9"), &proxies), ip("203.0.113.9"));
        // Nothing but proxies: the farthest one named.
        assert_eq!(client_ip(nginx, &xff("10.1.1.1, 10.0.0.7"), &proxies), ip("10.1.1.1"));
        // An empty header, or none: the peer.
        assert_eq!(client_ip(nginx, &xff(""), &proxies), nginx);
        assert_eq!(client_ip(nginx, &HeaderMap::new(), &proxies), nginx);
        // Both headers: believed when they agree; a forged one that disagrees gets the peer.
        let both = |f: &str, x: &str| headers(&[("forwarded", f), ("x-forwarded-for", x)]);
        assert_eq!(client_ip(nginx, &both("for=203.0.113.9", "203.0.113.9"), &proxies), ip("203.0.113.9"));
        assert_eq!(client_ip(nginx, &both("for=6.6.6.6", "203.0.113.9"), &proxies), nginx);
        // X-Real-IP is never read.
        assert_eq!(client_ip(nginx, &headers(&[("x-real-ip", "6.6.6.6")]), &proxies), nginx);
        // An IPv4 peer on an IPv6 socket.
        assert_eq!(client_ip(ip("::ffff:10.0.0.2"), &xff("203.0.113.9"), &proxies), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("::ffff:198.51.100.1"), &xff("203.0.113.9"), &none), ip("198.51.100.1"));
    }
}
