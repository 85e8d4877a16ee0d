//! Module URIs: `file:///lib<X>_skel.so?<X>_skel_handle_invoke&_modver=1.0&_dom=cdsp`.
//!
//! The parser decodes nothing (no percent escapes) and keeps the library
//! name as the client wrote it after `file:///` (`file://` with no third
//! slash too); where a name may lead is `crate::libsearch`'s business.
//! Only qaic-shaped entry points are callable ([`is_skel_entry`]): a URI
//! cannot make `system` or `abort` a skel's entry.

/// A parsed module URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleUri {
    /// Library file name or path.
    pub library: String,
    /// Entry symbol.
    pub symbol: String,
    /// `_modver=1.0`: the `(handle, sc, pra)` entry point.
    pub handle_style: bool,
    /// `_dom=` if given.
    pub domain: Option<String>,
}

impl ModuleUri {
    /// Parse; the symbol defaults from the library name
    /// (`lib<X>_skel.so` → `<X>_skel_handle_invoke` or `<X>_skel_invoke`).
    pub fn parse(uri: &str) -> Result<ModuleUri, String> {
        let rest = uri
            .strip_prefix("file://")
            .ok_or_else(|| format!("'{uri}' is not a file:// module URI"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        // `file:///x` names `x`: one slash is the URI's root, any other is
        // the client's (and makes an absolute name, which never resolves).
        let library = path.strip_prefix('/').unwrap_or(path).to_string();
        if library.is_empty() {
            return Err(format!("'{uri}' names no library"));
        }
        let mut symbol = None;
        let mut handle_style = false;
        let mut domain = None;
        for (k, part) in query.split('&').enumerate() {
            match part.split_once('=') {
                Some(("_modver", v)) => handle_style = v == "1.0",
                Some(("_dom", v)) => domain = Some(v.to_string()),
                Some(_) => {}
                None if k == 0 && !part.is_empty() => symbol = Some(part.to_string()),
                None => {}
            }
        }
        let symbol = match symbol {
            Some(s) => {
                handle_style |= s.ends_with("_handle_invoke");
                s
            }
            None => {
                let stem = library.rsplit('/').next().unwrap_or(&library);
                let x = stem
                    .strip_prefix("lib")
                    .unwrap_or(stem)
                    .strip_suffix(".so")
                    .unwrap_or(stem);
                if handle_style {
                    format!("{x}_handle_invoke")
                } else {
                    format!("{x}_invoke")
                }
            }
        };
        Ok(ModuleUri {
            library,
            symbol,
            handle_style,
            domain,
        })
    }

    /// Whether the entry symbol is one a skel may have ([`is_skel_entry`]).
    pub fn entry_is_skel(&self) -> bool {
        is_skel_entry(&self.symbol, self.handle_style)
    }
}

/// Whether `symbol` is an entry point qaic generates for the style asked:
/// `<x>_skel_handle_invoke` for `(handle, sc, pra)` (`_modver=1.0`),
/// `<x>_skel_invoke` for `(sc, pra)`, `<x>` a C identifier. Nothing else is
/// ever looked up, so no other function of a library (or of what it links,
/// libc's `system`) can be called as an entry.
pub fn is_skel_entry(symbol: &str, handle_style: bool) -> bool {
    let suffix = if handle_style {
        "_skel_handle_invoke"
    } else {
        "_skel_invoke"
    };
    let Some(x) = symbol.strip_suffix(suffix) else {
        return false;
    };
    symbol.len() <= 255
        && x.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calculator_uri() {
        let u = ModuleUri::parse(
            "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_idlver=1.2.3&_dom=cdsp",
        )
        .unwrap();
        assert_eq!(u.library, "libcalculator_skel.so");
        assert_eq!(u.symbol, "calculator_skel_handle_invoke");
        assert!(u.handle_style);
        assert_eq!(u.domain.as_deref(), Some("cdsp"));
    }

    #[test]
    fn defaults_and_errors() {
        let u = ModuleUri::parse("file:///libfoo_skel.so?_modver=1.0").unwrap();
        assert_eq!(u.symbol, "foo_skel_handle_invoke");
        let u = ModuleUri::parse("file:///libfoo_skel.so").unwrap();
        assert_eq!((u.symbol.as_str(), u.handle_style), ("foo_skel_invoke", false));
        assert!(ModuleUri::parse("http://x").is_err());
        assert!(ModuleUri::parse("file:///?x").is_err());
    }

    #[test]
    fn only_the_root_slash_is_stripped() {
        let lib = |uri: &str| ModuleUri::parse(uri).unwrap().library;
        assert_eq!(lib("file:///libx_skel.so"), "libx_skel.so");
        assert_eq!(lib("file://libx_skel.so"), "libx_skel.so");
        assert_eq!(lib("file:////etc/libx.so"), "/etc/libx.so");
        assert_eq!(lib("file:///../libx.so"), "../libx.so");
        assert_eq!(lib("file:///%2e%2e/libx.so"), "%2e%2e/libx.so", "nothing is decoded");
    }

    #[test]
    fn entry_points_are_qaic_shaped() {
        for (sym, style) in [
            ("calculator_skel_handle_invoke", true),
            ("qdaplain_skel_invoke", false),
            ("_x9_skel_invoke", false),
        ] {
            assert!(is_skel_entry(sym, style), "{sym}");
        }
        for (sym, style) in [
            ("system", false),
            ("abort", true),
            ("calculator_skel_handle_invoke", false),
            ("qdaplain_skel_invoke", true),
            ("_skel_invoke", false),
            ("9x_skel_invoke", false),
            ("a.b_skel_invoke", false),
            ("x_skel_invoke\0", false),
            ("x_skel_invokex", false),
        ] {
            assert!(!is_skel_entry(sym, style), "{sym} {style}");
        }
        assert!(!is_skel_entry(&format!("{}_skel_invoke", "a".repeat(250)), false));
        let u = ModuleUri::parse("file:///libc.so.6?system").unwrap();
        assert!(!u.entry_is_skel());
        let u = ModuleUri::parse("file:///libfoo_skel.so?_modver=1.0").unwrap();
        assert!(u.entry_is_skel(), "the default entry is a skel's");
    }
}
