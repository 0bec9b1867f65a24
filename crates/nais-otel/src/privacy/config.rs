//! The masking settings and their defaults.

/// The attributes NAIS masks, and `db.query.text`, the newer name of
/// `db.statement`: masked whatever is exempted.
pub const DEFAULT_KEYS: &[&str] = &[
    "url.path",
    "url.full",
    "url.original",
    "url.query",
    "http.url",
    "http.target",
    "http.route",
    "db.statement",
    "db.query.text",
    "messaging.kafka.message.key",
];

/// What replaces a number unless configured otherwise; the text NAIS uses.
pub const DEFAULT_REPLACEMENT: &str = "[fnr]";

/// How masking is set up. On by default, for every attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskConfig {
    /// Whether to mask at all. Defaults to `true`.
    pub enabled: bool,
    /// Attribute keys that are masked even when exempted: the floor.
    /// Defaults to [`DEFAULT_KEYS`].
    pub keys: Vec<String>,
    /// Attribute keys (and JSON log fields) left as they are, unless they are
    /// in [`MaskConfig::keys`]. Defaults to none.
    pub exempt_keys: Vec<String>,
    /// The replacement text. Defaults to [`DEFAULT_REPLACEMENT`].
    pub replacement: String,
    /// Whether to demand valid mod-11 control digits. Defaults to `false`.
    pub checksum: bool,
}

impl Default for MaskConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl MaskConfig {
    /// The default: on, every key, NAIS's keys as the floor, `[fnr]`, no checksum.
    pub fn new() -> Self {
        Self {
            enabled: true,
            keys: DEFAULT_KEYS.iter().map(|k| (*k).to_owned()).collect(),
            exempt_keys: Vec::new(),
            replacement: DEFAULT_REPLACEMENT.to_owned(),
            checksum: false,
        }
    }

    /// Masking off.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::new()
        }
    }

    /// Adds an attribute key that is masked even when exempted. Repeated calls
    /// add to earlier ones.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
        self
    }

    /// Exempts an attribute key (and the JSON log field of that name) from
    /// masking, for values that must stay exact. Has no effect on the keys in
    /// [`MaskConfig::keys`]. Repeated calls add to earlier ones.
    #[must_use]
    pub fn exempt_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        if !self.exempt_keys.contains(&key) {
            self.exempt_keys.push(key);
        }
        self
    }

    /// Sets the replacement text.
    #[must_use]
    pub fn replacement(mut self, replacement: impl Into<String>) -> Self {
        self.replacement = replacement.into();
        self
    }

    /// Whether to demand valid control digits.
    #[must_use]
    pub fn checksum(mut self, checksum: bool) -> Self {
        self.checksum = checksum;
        self
    }
}
