//! Branding without forking: the product name, logo and colour every page
//! shows, from settings (`LATCHKEY_BRAND_NAME`, `LATCHKEY_BRAND_LOGO_URL`,
//! `LATCHKEY_BRAND_COLOR`), checked once at startup.
//!
//! Each request runs in a [`scope`] holding its server's brand (set in
//! `server.rs`, like the audit context), so every template, the error pages
//! included, reads it through [`current`] without each page carrying it.

use std::sync::Arc;

/// The name shown when none is configured.
pub const DEFAULT_NAME: &str = "latchkey";
/// The default colour: white text on it has a contrast of 6.5:1.
pub const DEFAULT_COLOR: &str = "#2457c5";
/// Longest product name: it sits in every page title and header.
const MAX_NAME_CHARS: usize = 64;
/// WCAG 2.x AA for normal text (1.4.3): white button text on the brand colour,
/// and links on the dark-mode card, must reach it.
const MIN_CONTRAST: f64 = 4.5;
/// The dark-mode card colour (`--surface` in latchkey.css) links are read on.
const DARK_SURFACE: Rgb = Rgb(0x1c, 0x1d, 0x21);
const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb` only (no names, no shorthand, no `url(…)`: the value goes into CSS).
    pub fn parse(s: &str) -> Option<Rgb> {
        let hex = s.strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG relative luminance.
    fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    /// WCAG contrast ratio, 1 to 21.
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// `self` mixed with white, `t` from 0 (self) to 1 (white).
    fn toward_white(self, t: f64) -> Rgb {
        let mix = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * t).round().clamp(0.0, 255.0) as u8;
        Rgb(mix(self.0), mix(self.1), mix(self.2))
    }

    /// The lightest-needed tint of `self` that reads on the dark-mode card.
    fn on_dark(self) -> Rgb {
        (0..=20).map(|step| self.toward_white(f64::from(step) / 20.0)).find(|c| c.contrast(DARK_SURFACE) >= MIN_CONTRAST).unwrap_or(WHITE)
    }
}

/// What every page shows of the product.
#[derive(Debug, Clone, PartialEq)]
pub struct Brand {
    pub name: String,
    /// An http(s) image URL (https except on localhost).
    pub logo_url: Option<String>,
    pub color: Rgb,
    /// Links and outlines in dark mode: the colour lightened until it reads.
    pub color_on_dark: Rgb,
}

impl Default for Brand {
    fn default() -> Self {
        let color = Rgb::parse(DEFAULT_COLOR).unwrap_or(Rgb(0x24, 0x57, 0xc5));
        Brand { name: DEFAULT_NAME.to_string(), logo_url: None, color, color_on_dark: color.on_dark() }
    }
}

impl Brand {
    /// Checks the three settings; the error names the setting and why.
    pub fn from_settings(name: &str, logo_url: Option<&str>, color: &str) -> Result<Brand, String> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(format!("LATCHKEY_BRAND_NAME must be 1-{MAX_NAME_CHARS} characters without control characters"));
        }
        let logo_url = match logo_url.filter(|u| !u.is_empty()) {
            Some(u) => Some(latchkey_app::directory::clients::checked_https_uri("LATCHKEY_BRAND_LOGO_URL", u).map_err(|e| e.to_string())?),
            None => None,
        };
        let rgb = Rgb::parse(color).ok_or_else(|| format!("LATCHKEY_BRAND_COLOR={color:?} must be a colour as #rrggbb"))?;
        let contrast = rgb.contrast(WHITE);
        if contrast < MIN_CONTRAST {
            return Err(format!(
                "LATCHKEY_BRAND_COLOR={color} is too light: white button text on it has a contrast of {contrast:.1}:1, at least {MIN_CONTRAST}:1 is needed (WCAG AA); pick a darker shade"
            ));
        }
        Ok(Brand { name: name.to_string(), logo_url, color: rgb, color_on_dark: rgb.on_dark() })
    }

    /// `/static/brand.css`: the colours as custom properties over latchkey.css's defaults.
    pub fn stylesheet(&self) -> String {
        format!(":root {{ --brand: {}; --brand-on-dark: {}; }}\n", self.color.hex(), self.color_on_dark.hex())
    }

    /// What the mails show of it (name and colour).
    pub fn for_mail(&self) -> latchkey_authn::notice::MailBrand {
        latchkey_authn::notice::MailBrand::new(&self.name, &self.color.hex())
    }

    /// The logo's origin, which the pages' `img-src` must allow.
    pub fn logo_origin(&self) -> Option<String> {
        self.logo_url.as_deref().and_then(image_origin)
    }
}

/// `scheme://host[:port]` of an image URL, for a `Content-Security-Policy`
/// `img-src` (only tuple origins: never `null`).
pub fn image_origin(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|u| u.origin()).filter(|o| o.is_tuple()).map(|o| o.ascii_serialization())
}

tokio::task_local! {
    static CURRENT: Arc<Brand>;
}

/// Runs `fut` (one request) with `brand` as its pages' brand.
pub async fn scope<F: std::future::Future>(brand: Arc<Brand>, fut: F) -> F::Output {
    CURRENT.scope(brand, fut).await
}

/// The brand of the request being answered (the default outside one).
pub fn current() -> Arc<Brand> {
    CURRENT.try_with(Arc::clone).unwrap_or_else(|_| Arc::new(Brand::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_hex_only() {
        assert_eq!(Rgb::parse("#2457C5"), Some(Rgb(0x24, 0x57, 0xc5)));
        for bad in ["2457c5", "#245", "#2457c5ff", "red", "#24 57c", "#zzzzzz", "#2457c5;}body{display:none", ""] {
            assert_eq!(Rgb::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn contrast_matches_wcag() {
        assert!((WHITE.contrast(Rgb(0, 0, 0)) - 21.0).abs() < 0.01);
        assert!((Rgb::parse(DEFAULT_COLOR).map(|c| c.contrast(WHITE)).unwrap_or_default() - 6.47).abs() < 0.05);
    }

    #[test]
    fn settings_are_checked() {
        let ok = Brand::from_settings("  Acme ID ", Some("https://cdn.acme.example/logo.svg"), "#0b5d1e");
        let ok = ok.unwrap_or_default();
        assert_eq!(ok.name, "Acme ID");
        assert_eq!(ok.logo_origin().as_deref(), Some("https://cdn.acme.example"));
        assert!(ok.color_on_dark.contrast(DARK_SURFACE) >= MIN_CONTRAST, "dark-mode links read");
        assert!(ok.stylesheet().contains("--brand: #0b5d1e;"));
        let err = |n: &str, l: Option<&str>, c: &str| Brand::from_settings(n, l, c).err().unwrap_or_default();
        assert!(err("", None, "#000000").contains("LATCHKEY_BRAND_NAME"));
        assert!(err("Acme\u{7}", None, "#000000").contains("LATCHKEY_BRAND_NAME"));
        assert!(err(&"x".repeat(65), None, "#000000").contains("LATCHKEY_BRAND_NAME"));
        assert!(err("Acme", Some("javascript:alert(1)"), "#000000").contains("LATCHKEY_BRAND_LOGO_URL"));
        assert!(err("Acme", Some("http://cdn.acme.example/logo.png"), "#000000").contains("https"));
        assert!(Brand::from_settings("Acme", Some("http://localhost:8080/logo.png"), "#000000").is_ok(), "http on localhost");
        assert!(err("Acme", None, "yellow").contains("LATCHKEY_BRAND_COLOR"));
        assert!(err("Acme", None, "#ffff00").contains("too light"));
    }

    #[tokio::test]
    async fn the_scope_sets_the_brand() {
        assert_eq!(current().name, DEFAULT_NAME);
        let brand = Arc::new(Brand { name: "Acme".into(), ..Brand::default() });
        assert_eq!(scope(brand, async { current().name.clone() }).await, "Acme");
    }
}
