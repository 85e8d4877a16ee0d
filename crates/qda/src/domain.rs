//! DSP domains.

use std::fmt;

/// A DSP domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    /// Application DSP (audio).
    Adsp,
    /// Modem DSP.
    Mdsp,
    /// Sensors DSP.
    Sdsp,
    /// Compute DSP.
    Cdsp,
    /// Second compute DSP.
    Cdsp1,
    /// General-purpose DSP 0.
    Gdsp0,
    /// General-purpose DSP 1.
    Gdsp1,
}

impl Domain {
    /// Every domain, in libfastrpc's id order.
    pub const ALL: [Domain; 7] = [
        Domain::Adsp,
        Domain::Mdsp,
        Domain::Sdsp,
        Domain::Cdsp,
        Domain::Cdsp1,
        Domain::Gdsp0,
        Domain::Gdsp1,
    ];
    /// The name QUERY answers and URIs use (`"cdsp"`).
    pub fn name(self) -> &'static str {
        ["adsp", "mdsp", "sdsp", "cdsp", "cdsp1", "gdsp0", "gdsp1"][self.id() as usize]
    }
    /// libfastrpc's domain id (ADSP 0 … GDSP1 6).
    pub fn id(self) -> u32 {
        Domain::ALL.iter().position(|d| *d == self).expect("listed") as u32
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no domain's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown domain '{0}' (expected adsp, mdsp, sdsp, cdsp, cdsp1, gdsp0 or gdsp1)")]
pub struct UnknownDomain(pub String);

impl std::str::FromStr for Domain {
    type Err = UnknownDomain;
    fn from_str(s: &str) -> Result<Domain, UnknownDomain> {
        Domain::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDomain(s.to_string()))
    }
}
