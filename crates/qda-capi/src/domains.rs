//! Domains, sessions and effective domain ids as libadsprpc numbers them
//! (qualcomm/fastrpc `inc/fastrpc_common.h` @ 29851fde11d4: `NUM_DOMAINS` 8,
//! `NUM_SESSIONS` 4, effective id = domain + 8 × session), and the parts of a
//! module URI the library reads (`&_dom=`, `&_session=`).

use qda::Domain;

/// `NUM_DOMAINS`: domain ids are 0..8 (7 named).
pub const NUM_DOMAINS: u32 = 8;
/// `NUM_SESSIONS`: sessions per domain.
pub const NUM_SESSIONS: u32 = 4;
/// Effective domain ids are `0..NUM_DOMAINS * NUM_SESSIONS`.
pub const NUM_EFFECTIVE: u32 = NUM_DOMAINS * NUM_SESSIONS;
/// `ITRANSPORT_PREFIX`: URIs of the library's own pseudo-handles start so.
pub const ITRANSPORT_PREFIX: &str = "'\":;./\\";

/// A domain and a session on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Effective(pub u32);

impl Effective {
    /// Session `session` of domain id `domain`, if both are valid.
    pub fn new(domain: u32, session: u32) -> Option<Effective> {
        (domain_of_id(domain).is_some() && session < NUM_SESSIONS).then_some(Effective(domain + NUM_DOMAINS * session))
    }
    /// A C caller's effective domain id, if valid.
    pub fn from_id(id: i32) -> Option<Effective> {
        let id = u32::try_from(id).ok()?;
        Effective::new(id % NUM_DOMAINS, id / NUM_DOMAINS)
    }
    /// The domain id (0..8).
    pub fn domain_id(self) -> u32 {
        self.0 % NUM_DOMAINS
    }
    /// The session (0..4).
    pub fn session(self) -> u32 {
        self.0 / NUM_DOMAINS
    }
    /// The domain.
    pub fn domain(self) -> Domain {
        domain_of_id(self.domain_id()).expect("checked when made")
    }
}

/// The domain of a libadsprpc domain id (ADSP 0 … GDSP1 6).
pub fn domain_of_id(id: u32) -> Option<Domain> {
    Domain::ALL.get(id as usize).copied()
}

/// The domain named `name` (`"cdsp"`).
pub fn domain_of_name(name: &str) -> Option<Domain> {
    name.parse().ok()
}

/// The value of URI parameter `key` (`"&_dom="`): up to the next `&`.
fn param<'a>(uri: &'a str, key: &str) -> Option<&'a str> {
    let at = uri.find(key)? + key.len();
    let rest = &uri[at..];
    Some(rest.split('&').next().unwrap_or(rest))
}

/// Where a module URI is to be opened: its `&_dom=` (else `default`) and
/// `&_session=` (else 0). `None` for an unknown domain or a session out of
/// range.
pub fn of_uri(uri: &str, default: u32) -> Option<Effective> {
    let domain = match param(uri, "&_dom=") {
        Some(name) => domain_of_name(name)?.id(),
        None => default,
    };
    let session = match param(uri, "&_session=") {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    Effective::new(domain, session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parameters() {
        let u = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=adsp";
        assert_eq!(of_uri(u, 3), Some(Effective(0)));
        assert_eq!(
            of_uri("file:///a.so?a_skel_handle_invoke&_modver=1.0", 3),
            Some(Effective(3))
        );
        assert_eq!(of_uri("x&_dom=cdsp&_session=2", 0), Some(Effective(3 + 16)));
        assert_eq!(of_uri("x&_dom=nosuch", 0), None);
        assert_eq!(of_uri("x&_dom=cdsp&_session=4", 0), None);
        assert_eq!(of_uri("x&_session=-1", 0), None);
    }

    #[test]
    fn effective_ids() {
        let e = Effective::from_id(11).unwrap();
        assert_eq!((e.domain_id(), e.session()), (3, 1));
        assert_eq!(Effective::from_id(7), None, "domain 7 has no name");
        assert_eq!(Effective::from_id(32), None);
        assert_eq!(Effective::from_id(-1), None);
    }
}
