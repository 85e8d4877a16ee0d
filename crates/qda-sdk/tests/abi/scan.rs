//! A small scan of a C header for what it defines: `#define`s, enum types and
//! members, structs and unions with their fields, typedef names, functions.
//!
//! It knows the shapes these headers use, not all of C: comments and line
//! continuations are removed, directives are read line by line (an empty
//! `#define` is skipped when it is an include guard — `#ifndef X_H` just
//! before — or a `_..._DEFINED` type guard), and the rest is split into
//! top-level declarations. A nested definition inside a struct panics, so a
//! header that needs more is noticed rather than half read.

/// One thing a header defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A name of some kind: `#define`, `type` (`enum X`), `enum member`,
    /// `struct/union` (a second name of a struct), `typedef`, `function`.
    Name(&'static str, String),
    /// A struct or union (by its first C name) and its field names in order.
    Fields(String, Vec<String>),
}

/// Everything found, in text order.
#[derive(Debug, Default)]
pub struct Found {
    /// The items.
    pub items: Vec<Item>,
}

/// Comments out (strings and character literals kept intact).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    if c == '\n' {
                        out.push('\n');
                    }
                    prev = c;
                }
                out.push(' ');
            }
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' | '\'' => {
                out.push(c);
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    } else if d == c || d == '\n' {
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn ident(s: &str) -> Option<String> {
    let id: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!id.is_empty() && !id.starts_with(|c: char| c.is_ascii_digit())).then_some(id)
}

fn is_ident(t: &str) -> bool {
    ident(t).is_some_and(|i| i.len() == t.len())
}

fn tokens(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut t = String::new();
            while let Some(&d) = chars.peek() {
                if !(d.is_ascii_alphanumeric() || d == '_') {
                    break;
                }
                t.push(d);
                chars.next();
            }
            out.push(t);
        } else if c == '"' || c == '\'' {
            let mut t = String::new();
            t.push(c);
            chars.next();
            while let Some(d) = chars.next() {
                t.push(d);
                if d == '\\' {
                    t.extend(chars.next());
                } else if d == c {
                    break;
                }
            }
            out.push(t);
        } else {
            out.push(c.to_string());
            chars.next();
        }
    }
    out
}

/// Index just past the bracket that closes the one at `open`.
fn close(t: &[String], open: usize) -> usize {
    let (o, c) = match t[open].as_str() {
        "{" => ("{", "}"),
        "(" => ("(", ")"),
        "[" => ("[", "]"),
        other => panic!("not a bracket: {other}"),
    };
    let mut depth = 0;
    for (k, tok) in t.iter().enumerate().skip(open) {
        if tok == o {
            depth += 1;
        } else if tok == c {
            depth -= 1;
            if depth == 0 {
                return k + 1;
            }
        }
    }
    panic!("unbalanced {o}");
}

/// The name a declarator declares: `(*name)` for function pointers, else the
/// last identifier outside brackets.
fn declared(t: &[String]) -> Option<String> {
    if let Some(k) = t.windows(3).position(|w| w[0] == "(" && w[1] == "*" && is_ident(&w[2])) {
        return Some(t[k + 2].clone());
    }
    let mut last = None;
    let mut k = 0;
    while k < t.len() {
        if t[k] == "[" || t[k] == "(" {
            k = close(t, k);
            continue;
        }
        if is_ident(&t[k]) {
            last = Some(t[k].clone());
        }
        k += 1;
    }
    last
}

fn split_top(t: &[String], sep: &str) -> Vec<Vec<String>> {
    let mut parts = vec![Vec::new()];
    let mut depth = 0i32;
    for tok in t {
        match tok.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth -= 1,
            _ => {}
        }
        if depth == 0 && tok == sep {
            parts.push(Vec::new());
        } else {
            parts.last_mut().unwrap().push(tok.clone());
        }
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// The function a declaration (or definition) `t` declares, if it is one:
/// `__QAIC_REMOTE(name)(…)`, else the identifier before the first `(` after
/// any `__attribute__((…))`.
fn function(t: &[String]) -> Option<String> {
    if let Some(k) = t
        .windows(4)
        .position(|w| w[0] == "__QAIC_REMOTE" && w[1] == "(" && w[3] == ")")
    {
        return Some(t[k + 2].clone());
    }
    let mut k = 0;
    while k < t.len() {
        if t[k] == "__attribute__" && t.get(k + 1).is_some_and(|x| x == "(") {
            k = close(t, k + 1);
            continue;
        }
        if t[k] == "(" {
            return (k > 0 && is_ident(&t[k - 1])).then(|| t[k - 1].clone());
        }
        k += 1;
    }
    None
}

/// One top-level declaration `t` (without its `;`).
fn declaration(t: &[String], out: &mut Vec<Item>) {
    let typedef = t.first().is_some_and(|x| x == "typedef");
    let kw = t.iter().position(|x| x == "struct" || x == "union" || x == "enum");
    let def = kw.and_then(|k| {
        let tag = t.get(k + 1).filter(|x| is_ident(x)).cloned();
        let open = k + 1 + usize::from(tag.is_some());
        (t.get(open).map(String::as_str) == Some("{")).then_some((k, tag, open))
    });
    let Some((k, tag, open)) = def else {
        if typedef {
            if let Some(n) = declared(&t[1..]) {
                out.push(Item::Name("typedef", n));
            }
        } else if let Some(f) = function(t) {
            out.push(Item::Name("function", f));
        }
        return;
    };
    let end = close(t, open);
    let body = &t[open + 1..end - 1];
    let names: Vec<String> = if typedef {
        split_top(&t[end..], ",").iter().filter_map(|d| declared(d)).collect()
    } else {
        Vec::new()
    };
    if t[k] == "enum" {
        if let Some(tag) = tag {
            out.push(Item::Name("type", format!("enum {tag}")));
        }
        for m in split_top(body, ",") {
            out.push(Item::Name("enum member", m[0].clone()));
        }
        for n in names {
            out.push(Item::Name("typedef", n));
        }
        return;
    }
    assert!(!body.iter().any(|x| x == "{"), "a nested definition: teach the scan");
    let fields: Vec<String> = split_top(body, ";").iter().filter_map(|m| declared(m)).collect();
    let mut all: Vec<String> = tag
        .map(|tag| format!("{} {tag}", t[k]))
        .into_iter()
        .chain(names)
        .collect();
    assert!(!all.is_empty(), "an unnamed struct or union");
    let first = all.remove(0);
    out.push(Item::Fields(first, fields));
    for n in all {
        out.push(Item::Name("struct/union", n));
    }
}

/// What `text` defines.
pub fn scan(text: &str) -> Found {
    let text = strip_comments(text).replace("\\\n", " ");
    let mut found = Found::default();
    let mut code = String::new();
    let mut last_ifndef = String::new();
    for line in text.lines() {
        let l = line.trim_start();
        let Some(directive) = l.strip_prefix('#') else {
            code.push_str(line);
            code.push('\n');
            continue;
        };
        let directive = directive.trim_start();
        if let Some(rest) = directive.strip_prefix("ifndef") {
            last_ifndef = rest.trim().to_string();
            continue;
        }
        let Some(rest) = directive.strip_prefix("define") else {
            continue;
        };
        let rest = rest.trim_start();
        let name = ident(rest).expect("#define without a name");
        let value = rest[name.len()..].trim();
        let guard = value.is_empty()
            && (name.ends_with("_DEFINED")
                || name.ends_with("_DEFINED__")
                || (name == last_ifndef && name.ends_with("_H")));
        if !guard {
            found.items.push(Item::Name("#define", name));
        }
        last_ifndef.clear();
    }
    let t = tokens(&code);
    let mut i = 0;
    while i < t.len() {
        if t[i] == "extern"
            && t.get(i + 1).is_some_and(|s| s.starts_with('"'))
            && t.get(i + 2).is_some_and(|s| s == "{")
        {
            i += 3;
            continue;
        }
        if t[i] == "}" {
            i += 1; // the end of an extern "C" block
            continue;
        }
        // A declaration runs to `;` at depth 0, or ends with a function body.
        let mut j = i;
        let mut done = None;
        while j < t.len() {
            match t[j].as_str() {
                "(" | "[" => j = close(&t, j),
                ";" => {
                    done = Some(j + 1);
                    break;
                }
                "{" => {
                    let is_def = t[i..j].last().is_some_and(|p| {
                        p == "struct" || p == "union" || p == "enum" || {
                            let n = j - i;
                            n >= 2 && is_ident(p) && ["struct", "union", "enum"].contains(&t[j - 2].as_str())
                        }
                    });
                    if is_def {
                        j = close(&t, j);
                    } else {
                        // A function definition: its name, then past its body.
                        if let Some(f) = function(&t[i..j]) {
                            found.items.push(Item::Name("function", f));
                        }
                        i = close(&t, j);
                        j = usize::MAX;
                        break;
                    }
                }
                _ => j += 1,
            }
        }
        if j == usize::MAX {
            continue;
        }
        let (decl_end, next) = match done {
            Some(after) => (after - 1, after),
            None => (t.len(), t.len()),
        };
        declaration(&t[i..decl_end], &mut found.items);
        i = next;
    }
    found
}
