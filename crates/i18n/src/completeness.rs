//! Every language has exactly English's messages, with the same arguments;
//! every message the templates use exists; the files parse cleanly.

use std::collections::{BTreeMap, BTreeSet};

use fluent_syntax::ast;
use fluent_syntax::parser;

use crate::{sources, Locale, Tr, FILES};

/// Message id → the variables (`$name`) it references, for one file's text.
fn messages(source: &str, what: &str) -> BTreeMap<String, BTreeSet<String>> {
    let resource = parser::parse(source).unwrap_or_else(|(_, errors)| panic!("{what}: syntax errors {errors:?}"));
    let mut out = BTreeMap::new();
    for entry in resource.body {
        match entry {
            ast::Entry::Message(m) => {
                let vars = m.value.as_ref().map(variables).unwrap_or_default();
                assert!(m.value.is_some(), "{what}: {} has no value", m.id.name);
                assert!(out.insert(m.id.name.to_string(), vars).is_none(), "{what}: {} twice", m.id.name);
            }
            ast::Entry::Junk { content } => panic!("{what}: junk {content:?}"),
            _ => {}
        }
    }
    out
}

fn variables(pattern: &ast::Pattern<&str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            collect(expression, &mut out);
        }
    }
    out
}

fn collect(expression: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Inline(inline) => inline_vars(inline, out),
        ast::Expression::Select { selector, variants } => {
            inline_vars(selector, out);
            for v in variants {
                out.extend(variables(&v.value));
            }
        }
    }
}

fn inline_vars(inline: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_string());
        }
        ast::InlineExpression::Placeable { expression } => collect(expression, out),
        _ => {}
    }
}

fn all(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (file, source) in FILES.iter().zip(sources(locale)) {
        for (id, vars) in messages(source, &format!("{locale}/{file}")) {
            assert!(out.insert(id.clone(), vars).is_none(), "{locale}: {id} in two files");
        }
    }
    out
}

#[test]
fn every_locale_has_exactly_englishs_messages_with_the_same_arguments() {
    let english = all(Locale::En);
    assert!(english.len() > 100, "English is loaded");
    for locale in Locale::ALL.into_iter().filter(|l| *l != Locale::En) {
        let other = all(locale);
        let missing: Vec<_> = english.keys().filter(|k| !other.contains_key(*k)).collect();
        let extra: Vec<_> = other.keys().filter(|k| !english.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{locale} lacks {missing:?}");
        assert!(extra.is_empty(), "{locale} has keys English lacks: {extra:?}");
        for (id, vars) in &english {
            assert_eq!(&other[id], vars, "{locale}: {id} uses other arguments than English");
        }
    }
}

#[test]
fn the_checker_sees_a_missing_key() {
    let en = messages("a = A\nb = B { $x }\n", "test");
    let de = messages("a = A\n", "test");
    assert!(en.keys().any(|k| !de.contains_key(k)));
    assert_eq!(en["b"], BTreeSet::from(["x".to_string()]));
}

/// Keys in `t.get("…"`, `t.arg("…"`, `t.arg2("…"`, `t.strong("…"` of a template.
fn template_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for call in ["t.get(\"", "t.arg(\"", "t.arg2(\"", "t.strong(\""] {
        for (i, _) in text.match_indices(call) {
            let rest = &text[i + call.len()..];
            if let Some(end) = rest.find('"') {
                keys.push(rest[..end].to_string());
            }
        }
    }
    keys
}

#[test]
fn every_message_the_templates_use_exists() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
    let english = all(Locale::En);
    let mut used = 0;
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("templates/").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("template");
            for key in template_keys(&text) {
                assert!(english.contains_key(&key), "{} uses {key}, which English lacks", path.display());
                used += 1;
            }
        }
    }
    assert!(used > 50, "the scan finds the calls ({used})");
}

#[test]
fn the_scan_sees_every_call_shape() {
    let keys = template_keys(r#"{{ t.get("a") }} {{ t.arg("b", "n", n) }} {{ t.arg2("c", "x", 1, "y", 2) }} {{ t.strong("d", "u", u)|safe }}"#);
    assert_eq!(keys, ["a", "b", "c", "d"]);
}

#[test]
fn arguments_and_plurals_and_markup() {
    let en = Tr::new(Locale::En);
    let de = Tr::new(Locale::De);
    assert_eq!(en.arg("recover-intro", "minutes", 15), "We will send a recovery link to the address of your account. It works once, for 15 minutes.");
    assert!(de.arg("recover-intro", "minutes", 15).contains("15 Minuten"));
    assert_eq!(en.arg("totp-enrolled", "count", 1), "Your authenticator app is set up. 1 backup code left.");
    assert_eq!(en.arg("totp-enrolled", "count", 3), "Your authenticator app is set up. 3 backup codes left.");
    // No isolation marks around arguments.
    assert!(!en.arg("recover-intro", "minutes", 15).contains('\u{2068}'));
    // The argument is escaped and strong; the text is escaped too.
    assert_eq!(en.strong("not-me-device", "device", "<b>Evil</b> & co"), "Signed in from <strong>&lt;b&gt;Evil&lt;/b&gt; &amp; co</strong>. If this wasn&#x27;t you, end that session now.");
    assert_eq!(en.lang(), "en");
    assert_eq!(de.lang(), "de");
}
