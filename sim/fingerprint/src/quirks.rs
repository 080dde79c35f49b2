//! Mis-implementations: ways a vendor's module could get the protocol wrong. They exist to prove that the
//! conformance suite catches such modules (its "mutation score"); a correct simulator has none. Unlike
//! [`faults`](crate::faults), which are a module or line misbehaving now and then, a quirk is a design error and
//! applies every time.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quirk {
    /// Page numbers run to `capacity` inclusive (Store, LoadChar, Search, DeleteChar).
    PageOffByOne,
    /// Error acks carry only the confirmation code, not their instruction's full length.
    ShortErrors,
    /// SoftRst wipes the library.
    ForgetOnReset,
    /// Commands with a bad checksum are executed instead of refused with 01.
    NoChecksumCheck,
    /// Acks come from address 00000000.
    WrongReplyAddress,
    /// The index table's bits are in the wrong order within each byte.
    IndexMsbFirst,
    /// Search reports the page after the one that matched.
    SearchPagePlusOne,
    /// A changed password is never enforced.
    NoPassword,
    /// The last data packet of an upload is sent as an ordinary data packet (02, not 08).
    NoEndData,
    /// GetRandomCode always answers the same number.
    ConstantRandom,
    /// WriteNotepad acknowledges but keeps nothing.
    NotepadNoop,
    /// DeleteChar acknowledges but deletes nothing.
    DeleteNoop,
    /// AuraLedConfig accepts any control and colour code.
    LedAcceptsAnything,
    /// Set security level is acknowledged but not applied.
    SecurityLevelNoop,
    /// VfyPwd accepts any password.
    AnyPassword,
    /// ReadSysPara and ReadProdInfo report a library 10 slots larger than it is.
    MisreportsCapacity,
    /// TemplateNum counts one template too many.
    TemplateNumOff,
    /// LoadChar of an empty page says 00 (and loads zeros).
    LoadEmptyOk,
    /// SetSysPara accepts unknown registers.
    AcceptsBadRegister,
    /// Unknown instructions are not answered at all.
    SilentUnknown,
    /// GetFwVer and GetAlgVer answer 00 with empty text.
    EmptyVersions,
    /// SoftRst sends no 0x55 on a model that should.
    NoHandshakeByte,
    /// Commands to any address are executed.
    AnyAddress,
    /// A command with parameters of the wrong length is acknowledged with 00.
    AcksShortParams,
    /// A command written in fragments is dropped (the receiver wants a packet in one go).
    NoFragments,
    /// An incomplete packet is never dropped: the line stays blocked until enough bytes arrive.
    NoIdleTimeout,
    /// Data packets outside a transfer are acknowledged.
    AcksStrayData,
    /// A command that arrives during a download is swallowed as data.
    DownloadSwallowsCommands,
    /// After line noise the next packet is ignored.
    NoiseDeafens,
    /// A packet with an invalid PID stops the module answering for 3 s.
    BadPidHangs,
    /// GenImg reports a capture when nobody is at the sensor.
    PhantomFinger,
}

impl Quirk {
    pub const ALL: [Quirk; 31] = [
        Quirk::PageOffByOne,
        Quirk::ShortErrors,
        Quirk::ForgetOnReset,
        Quirk::NoChecksumCheck,
        Quirk::WrongReplyAddress,
        Quirk::IndexMsbFirst,
        Quirk::SearchPagePlusOne,
        Quirk::NoPassword,
        Quirk::NoEndData,
        Quirk::ConstantRandom,
        Quirk::NotepadNoop,
        Quirk::DeleteNoop,
        Quirk::LedAcceptsAnything,
        Quirk::SecurityLevelNoop,
        Quirk::AnyPassword,
        Quirk::MisreportsCapacity,
        Quirk::TemplateNumOff,
        Quirk::LoadEmptyOk,
        Quirk::AcceptsBadRegister,
        Quirk::SilentUnknown,
        Quirk::EmptyVersions,
        Quirk::NoHandshakeByte,
        Quirk::AnyAddress,
        Quirk::AcksShortParams,
        Quirk::NoFragments,
        Quirk::NoIdleTimeout,
        Quirk::AcksStrayData,
        Quirk::DownloadSwallowsCommands,
        Quirk::NoiseDeafens,
        Quirk::BadPidHangs,
        Quirk::PhantomFinger,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Quirk::PageOffByOne => "page-off-by-one",
            Quirk::ShortErrors => "short-errors",
            Quirk::ForgetOnReset => "forget-on-reset",
            Quirk::NoChecksumCheck => "no-checksum-check",
            Quirk::WrongReplyAddress => "wrong-reply-address",
            Quirk::IndexMsbFirst => "index-msb-first",
            Quirk::SearchPagePlusOne => "search-page-plus-one",
            Quirk::NoPassword => "no-password",
            Quirk::NoEndData => "no-end-data",
            Quirk::ConstantRandom => "constant-random",
            Quirk::NotepadNoop => "notepad-noop",
            Quirk::DeleteNoop => "delete-noop",
            Quirk::LedAcceptsAnything => "led-accepts-anything",
            Quirk::SecurityLevelNoop => "security-level-noop",
            Quirk::AnyPassword => "any-password",
            Quirk::MisreportsCapacity => "misreports-capacity",
            Quirk::TemplateNumOff => "template-num-off",
            Quirk::LoadEmptyOk => "load-empty-ok",
            Quirk::AcceptsBadRegister => "accepts-bad-register",
            Quirk::SilentUnknown => "silent-unknown",
            Quirk::EmptyVersions => "empty-versions",
            Quirk::NoHandshakeByte => "no-handshake-byte",
            Quirk::AnyAddress => "any-address",
            Quirk::AcksShortParams => "acks-short-params",
            Quirk::NoFragments => "no-fragments",
            Quirk::NoIdleTimeout => "no-idle-timeout",
            Quirk::AcksStrayData => "acks-stray-data",
            Quirk::DownloadSwallowsCommands => "download-swallows-commands",
            Quirk::NoiseDeafens => "noise-deafens",
            Quirk::BadPidHangs => "bad-pid-hangs",
            Quirk::PhantomFinger => "phantom-finger",
        }
    }
}

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown quirk name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quirk {0:?}: expected one of {list}", list = Quirk::ALL.map(Quirk::name).join(", "))]
pub struct QuirkError(pub String);

impl FromStr for Quirk {
    type Err = QuirkError;

    fn from_str(s: &str) -> Result<Quirk, QuirkError> {
        Quirk::ALL.into_iter().find(|q| q.name() == s).ok_or_else(|| QuirkError(s.to_owned()))
    }
}

/// The quirks of one module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quirks(pub Vec<Quirk>);

impl Quirks {
    pub fn has(&self, q: Quirk) -> bool {
        self.0.contains(&q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_errors_list_them() {
        for q in Quirk::ALL {
            assert_eq!(q.name().parse(), Ok(q));
        }
        let e = "sloppy".parse::<Quirk>().unwrap_err().to_string();
        assert!(e.contains("\"sloppy\"") && e.contains("page-off-by-one"), "{e}");
    }
}
