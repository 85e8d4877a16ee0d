//! Module URIs: `file:///lib<X>_skel.so?<X>_skel_handle_invoke&_modver=1.0&_dom=cdsp`.

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
        let library = path.trim_start_matches('/').to_string();
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
}
