//! Which service to run and where: `PORT`, `BIND_ADDRESS`, `INVENTORY_URL`, `DOGS_URL`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The port to listen on.
pub const PORT: &str = "PORT";
/// The address to listen on: `ip:port` (NAIS sets `0.0.0.0:<port>`) or just `ip`.
pub const BIND_ADDRESS: &str = "BIND_ADDRESS";
/// The inventory service's base URL, for kennels.
pub const INVENTORY_URL: &str = "INVENTORY_URL";
/// The dogs service's base URL, for kennels.
pub const DOGS_URL: &str = "DOGS_URL";

/// The default of [`INVENTORY_URL`].
pub const DEFAULT_INVENTORY_URL: &str = "http://127.0.0.1:8082";
/// The default of [`DOGS_URL`].
pub const DEFAULT_DOGS_URL: &str = "http://127.0.0.1:8083";

/// One of the three DogBook services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Kennel names and their dogs; calls inventory and dogs.
    Kennels,
    /// The dog ids of each kennel.
    Inventory,
    /// The name of each dog.
    Dogs,
}

impl Service {
    /// All three, in the order the demo starts them (callees first).
    pub const ALL: [Service; 3] = [Service::Inventory, Service::Dogs, Service::Kennels];

    /// The name: `kennels`, `inventory` or `dogs` (also the default `service.name`).
    pub fn name(self) -> &'static str {
        match self {
            Service::Kennels => "kennels",
            Service::Inventory => "inventory",
            Service::Dogs => "dogs",
        }
    }

    /// The port used when `PORT` is not set: 8081, 8082 or 8083.
    pub fn default_port(self) -> u16 {
        match self {
            Service::Kennels => 8081,
            Service::Inventory => 8082,
            Service::Dogs => 8083,
        }
    }

    /// The service called `name`, if any.
    pub fn from_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a service listens and where its upstreams are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The address to listen on.
    pub bind_address: SocketAddr,
    /// Inventory's base URL, without a trailing `/`.
    pub inventory_url: String,
    /// Dogs' base URL, without a trailing `/`.
    pub dogs_url: String,
}

impl Config {
    /// The configuration of `service` from the process environment.
    ///
    /// # Errors
    ///
    /// When a variable is set to a value that cannot be used; the error names
    /// the variable and the value.
    pub fn from_env(service: Service) -> Result<Config, ConfigError> {
        Config::from_lookup(service, |name| std::env::var(name).ok())
    }

    /// The configuration of `service`, reading variables through `lookup`.
    /// An empty value counts as unset.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Config::from_env).
    pub fn from_lookup<F>(service: Service, lookup: F) -> Result<Config, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let port = match get(PORT) {
            Some(value) => parse_port(PORT, &value)?,
            None => service.default_port(),
        };
        let bind_address = match get(BIND_ADDRESS) {
            Some(value) => parse_bind_address(&value, port)?,
            None => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        };
        let url = |name: &'static str, default: &str| match get(name) {
            Some(value) => parse_base_url(name, &value),
            None => Ok(default.to_owned()),
        };
        Ok(Config {
            bind_address,
            inventory_url: url(INVENTORY_URL, DEFAULT_INVENTORY_URL)?,
            dogs_url: url(DOGS_URL, DEFAULT_DOGS_URL)?,
        })
    }
}

/// Parses a port number, naming `variable` in the error.
///
/// # Errors
///
/// When `value` is not a number from 0 to 65535.
pub fn parse_port(variable: &'static str, value: &str) -> Result<u16, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| ConfigError::new(variable, value, "not a port number (0-65535)"))
}

fn parse_bind_address(value: &str, port: u16) -> Result<SocketAddr, ConfigError> {
    let value_trimmed = value.trim();
    if let Ok(addr) = value_trimmed.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = value_trimmed.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    Err(ConfigError::new(
        BIND_ADDRESS,
        value,
        "not an address such as 0.0.0.0:8080 or 127.0.0.1",
    ))
}

fn parse_base_url(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let trimmed = value.trim().trim_end_matches('/');
    let uri: http::Uri = trimmed.parse().map_err(|_| {
        ConfigError::new(variable, value, "not a URL such as http://inventory:8080")
    })?;
    if uri.scheme_str() != Some("http") {
        return Err(ConfigError::new(
            variable,
            value,
            "must start with http:// (the demo's client speaks plain HTTP)",
        ));
    }
    if uri.authority().is_none() {
        return Err(ConfigError::new(variable, value, "has no host"));
    }
    if uri.query().is_some() {
        return Err(ConfigError::new(variable, value, "must not have a query"));
    }
    Ok(trimmed.to_owned())
}

/// A configuration variable with a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: String,
    reason: &'static str,
}

impl ConfigError {
    pub(crate) fn new(variable: &'static str, value: &str, reason: &'static str) -> ConfigError {
        ConfigError {
            variable,
            value: value.to_owned(),
            reason,
        }
    }

    /// The variable's name.
    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// The value that cannot be used.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}: {}", self.variable, self.value, self.reason)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(service: Service, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(service, |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn defaults() {
        let c = config(Service::Kennels, &[]).unwrap();
        assert_eq!(c.bind_address, "127.0.0.1:8081".parse().unwrap());
        assert_eq!(c.inventory_url, DEFAULT_INVENTORY_URL);
        assert_eq!(c.dogs_url, DEFAULT_DOGS_URL);
        let c = config(Service::Dogs, &[("PORT", "")]).unwrap();
        assert_eq!(c.bind_address.port(), 8083);
    }

    type Vars = &'static [(&'static str, &'static str)];

    #[rustfmt::skip]
    #[test]
    fn good_values() {
        let cases: &[(Vars, &str, &str, &str)] = &[
            (&[("PORT", "9000")], "127.0.0.1:9000", DEFAULT_INVENTORY_URL, "port only"),
            (&[("PORT", "9000"), ("BIND_ADDRESS", "0.0.0.0:8080")], "0.0.0.0:8080", DEFAULT_INVENTORY_URL, "NAIS style: BIND_ADDRESS wins"),
            (&[("PORT", "9000"), ("BIND_ADDRESS", "0.0.0.0")], "0.0.0.0:9000", DEFAULT_INVENTORY_URL, "ip only takes PORT"),
            (&[("BIND_ADDRESS", "::1")], "[::1]:8081", DEFAULT_INVENTORY_URL, "ipv6"),
            (&[("INVENTORY_URL", "http://inventory:8080/")], "127.0.0.1:8081", "http://inventory:8080", "trailing slash trimmed"),
        ];
        for (vars, bind, inventory, reason) in cases {
            let c = config(Service::Kennels, vars).unwrap_or_else(|e| panic!("{reason}: {e}"));
            assert_eq!(c.bind_address, bind.parse().unwrap(), "{reason}");
            assert_eq!(c.inventory_url, *inventory, "{reason}");
        }
    }

    #[rustfmt::skip]
    #[test]
    fn bad_values_name_the_variable_and_value() {
        let cases: &[(&str, &str, &str)] = &[
            ("PORT", "eighty", "not a number"),
            ("PORT", "70000", "too big"),
            ("BIND_ADDRESS", "localhost:80", "not an ip"),
            ("INVENTORY_URL", "https://inventory", "no TLS in the demo client"),
            ("DOGS_URL", "dogs:8080", "no scheme"),
            ("DOGS_URL", "http://dogs?x=1", "query"),
        ];
        for (variable, value, reason) in cases {
            let error = config(Service::Kennels, &[(variable, value)]).expect_err(reason);
            assert_eq!(error.variable(), *variable, "{reason}");
            assert_eq!(error.value(), *value, "{reason}");
            let text = error.to_string();
            assert!(text.starts_with(&format!("{variable}=\"{value}\"")), "{reason}: {text}");
        }
    }

    #[test]
    fn service_names() {
        for service in Service::ALL {
            assert_eq!(Service::from_name(service.name()), Some(service));
        }
        assert_eq!(Service::from_name("cats"), None);
    }
}
