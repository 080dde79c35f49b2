//! khil's clearance side: the e-gate controller ([`gate`]), the clearance flow at a gate over the devices'
//! drivers ([`flow`]), the decision rules ([`rules`]), the border point's crossing records ([`records`]) and their
//! upload to the centre ([`central`]), the border point's traffic and gate planning ([`traffic`]) and its
//! watchlists as the centre publishes them ([`watchlist`]).

pub mod central;
pub mod flow;
pub mod gate;
pub mod records;
pub mod rules;
pub mod tomlfile;
pub mod traffic;
pub mod watchlist;
