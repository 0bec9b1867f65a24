//! No secret in any output: credentials in the endpoint URLs, collector
//! header values, the contents of TLS key files, and what code passes to the
//! builder never appear in anything the process writes (stdout, stderr, at
//! `RUST_LOG=trace`), in an `InitError` (its `Display` and the `Debug` that
//! `fn main() -> Result<..>` prints), in any `Debug` of the builder, the
//! configuration or the guard, nor in the spans the collector receives.
//!
//! Each scenario runs a service as a child process with every variable that
//! can carry a secret set to a value holding [`SECRET`], and greps all of it.

mod support;

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use nais_otel_console::Collector;

/// Set in the child process to the scenario it runs.
const CHILD_ENV: &str = "NAIS_OTEL_SUITE_SECRETS_CHILD";

/// Part of every secret value; nothing the process writes may hold it.
const SECRET: &str = "s3cr3t";

/// Not a test: the service this file starts as a child process. Does nothing
/// otherwise.
#[test]
fn secrets_child_process() {
    let Ok(scenario) = std::env::var(CHILD_ENV) else {
        return;
    };
    child(&scenario);
    std::process::exit(0);
}

/// What a service does: init (printing the error as `main` would), a span and
/// a log line, and every `Debug` it could print.
fn child(scenario: &str) {
    if scenario == "failed request" {
        failed_request();
        return;
    }
    let builder = match scenario {
        "builder" => nais_otel::builder()
            .with_endpoint("http://nais:s3cr3t-builder/pw@127.0.0.1:4317")
            .with_header("authorization", "Bearer s3cr3t-builder-header"),
        _ => nais_otel::builder().with_header("x-api-key", "s3cr3t-builder-header"),
    };
    println!("builder: {builder:?}");
    println!("config: {:?}", builder.config());
    println!("from env: {:?}", nais_otel::Config::from_env());
    let guard = match builder.init() {
        Ok(guard) => guard,
        Err(error) => {
            // What `fn main() -> Result<(), InitError>` prints, and a log line.
            eprintln!("Error: {error:?}");
            eprintln!("{error}");
            return;
        }
    };
    println!("guard: {guard:?}");
    println!("config in force: {:?}", guard.config());
    {
        let span = tracing::info_span!("work");
        let _entered = span.enter();
        tracing::info!("working");
    }
    guard.force_flush();
    drop(guard);
}

/// A request that fails, with credentials and a token in its URL, through an
/// `#[instrument(err)]` function (its argument, its exception event and its status), and
/// its error logged as a field and in a message.
fn failed_request() {
    #[tracing::instrument(err)]
    async fn fetch(url: &str) -> Result<String, reqwest::Error> {
        reqwest::get(url).await?.text().await
    }

    let guard = nais_otel::init().expect("init");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        // A port nothing listens on: the request fails to connect.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let url = format!(
            "http://nais:{SECRET}-pw@127.0.0.1:{port}/dogs?access_token={SECRET}-token&page=2"
        );
        let error = fetch(&url).await.expect_err("nothing listens");
        assert!(
            error.to_string().contains(SECRET),
            "the error holds it: {error}"
        );
        tracing::error!(error = %error, "the dogs could not be fetched");
        tracing::warn!("retrying after {error}");
        // `unwrap()` on it: the panic message holds the error's `Debug`.
        let result: Result<(), reqwest::Error> = std::hint::black_box(Err(error));
        let panicked = std::thread::spawn(move || result.unwrap()).join();
        assert!(panicked.is_err());
    });
    guard.force_flush();
    drop(guard);
}

/// Room for a slow first connection, for the scenarios whose spans must arrive.
fn delivering(env: &mut Vec<(&str, String)>) {
    env.push(("OTEL_EXPORTER_OTLP_TIMEOUT", "5000".to_owned()));
    env.push(("OTEL_BSP_EXPORT_TIMEOUT", "10000".to_owned()));
}

/// Runs `scenario` with a short batch delay and shutdown, and `env` (which wins),
/// and returns everything it wrote.
fn run(scenario: &str, env: &[(&str, String)]) -> String {
    let output = Command::new(std::env::current_exe().expect("test executable"))
        .args(["secrets_child_process", "--exact", "--nocapture"])
        .env_clear()
        .env("RUST_LOG", "trace")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
        .env("OTEL_BSP_EXPORT_TIMEOUT", "1000")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env(CHILD_ENV, scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("the service runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{scenario}: {text}");
    text
}

/// The lines of `text` that hold a secret.
fn leaks(text: &str) -> Vec<&str> {
    text.lines().filter(|line| line.contains(SECRET)).collect()
}

/// The header variables, each with a valid member, a member that is not
/// `name=value`, and members whose name or value is not a valid header.
fn headers(prefix: &str) -> String {
    format!(
        "authorization=Bearer%20{SECRET}-{prefix}-token,broken-{SECRET}-{prefix},\
         bad header={SECRET}-{prefix}-name,x-newline={SECRET}%0A{prefix}-value,\
         Authorization: Basic {SECRET}{prefix}=="
    )
}

#[test]
fn no_secret_while_exporting() {
    let collector = Collector::start().expect("collector");
    let endpoint = collector
        .endpoint()
        .replace("http://", &format!("http://nais:{SECRET}-pw@"));
    let mut env = support::nais_env("secrets", 0, &endpoint);
    env.push(("OTEL_EXPORTER_OTLP_HEADERS", headers("generic")));
    delivering(&mut env);
    let text = run("export", &env);
    assert!(
        text.contains("credentials in the endpoint URL are not used"),
        "{text}"
    );
    assert!(text.contains("is not `name=value`"), "{text}");
    assert_eq!(leaks(&text), Vec::<&str>::new());
    let spans = collector
        .wait_for_spans(1, Duration::from_secs(10))
        .expect("the span was exported through the stripped endpoint");
    assert_eq!(spans[0].name, "work");
    let bytes = collector.raw_requests().concat();
    assert!(!String::from_utf8_lossy(&bytes).contains(SECRET));
}

#[test]
fn no_secret_when_the_collector_refuses() {
    for protocol in ["grpc", "http/protobuf"] {
        // Nothing listens there: connections are refused.
        let endpoint = format!("http://127.0.0.1:{}", support::free_port());
        let with_password = endpoint.replace("http://", &format!("http://nais:{SECRET}-pw@"));
        let env = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", with_password.clone()),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", with_password),
            ("OTEL_EXPORTER_OTLP_HEADERS", headers("generic")),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", headers("traces")),
            ("NAIS_OTEL_LOG_FORMAT", "json".to_owned()),
        ];
        let text = run("refused", &env);
        assert!(text.contains("cannot export spans"), "{protocol}: {text}");
        assert_eq!(leaks(&text), Vec::<&str>::new(), "{protocol}");
    }
}

#[test]
fn no_secret_in_an_init_error() {
    for endpoint in [
        format!("ftp://nais:{SECRET}-pw@collector:4317"),
        format!("http://nais:{SECRET}/pw@collector:4317"),
        format!("nais:{SECRET}-pw@collector :4317"),
    ] {
        for variable in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ] {
            let text = run("init error", &[(variable, endpoint.clone())]);
            assert!(text.contains("Error: InitError"), "{endpoint}: {text}");
            assert!(text.contains(variable), "names the variable: {text}");
            assert!(
                text.contains("<redacted>@collector"),
                "shows the value, credentials replaced: {text}"
            );
            assert_eq!(leaks(&text), Vec::<&str>::new(), "{endpoint}");
        }
    }
    let text = run("builder", &[]);
    assert!(text.contains("Builder::with_endpoint"), "{text}");
    assert_eq!(leaks(&text), Vec::<&str>::new());
}

#[test]
fn no_secret_from_tls_files() {
    let dir = support::TempDir::new("secrets-tls");
    let pem = |name: &str, label: &str| {
        let path = dir.0.join(name);
        let body = format!("-----BEGIN {label}-----\n{SECRET}{SECRET}\n-----END {label}-----\n");
        std::fs::write(&path, body).expect("write a PEM file");
        path.display().to_string()
    };
    let env = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://nais:{SECRET}@127.0.0.1:1"),
        ),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pem("ca.pem", "CERTIFICATE"),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            pem("client.pem", "CERTIFICATE"),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            pem("client.key", "PRIVATE KEY"),
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", headers("tls")),
    ];
    let text = run("tls", &env);
    // The files were read, and reported as unusable, naming the variables.
    for variable in [
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    ] {
        assert!(
            text.lines()
                .any(|line| line.contains(variable) && line.contains("; ignored")),
            "{variable}: {text}"
        );
    }
    assert_eq!(leaks(&text), Vec::<&str>::new(), "{text}");
}

#[test]
fn no_secret_from_a_failed_request_url() {
    for (format, mask) in [
        ("json", "true"),
        ("text", "true"),
        ("json", "false"),
        ("text", "false"),
    ] {
        let case = format!("{format}, NAIS_OTEL_MASK={mask}");
        let collector = Collector::start().expect("collector");
        let mut env = support::nais_env("secrets", 0, &collector.endpoint());
        env.push(("NAIS_OTEL_LOG_FORMAT", format.to_owned()));
        env.push(("NAIS_OTEL_MASK", mask.to_owned()));
        delivering(&mut env);
        let text = run("failed request", &env);
        assert!(text.contains("panicked at"), "{case}: {text}");
        assert_eq!(leaks(&text), Vec::<&str>::new(), "{case}: {text}");
        assert!(
            text.contains("access_token=REDACTED&page=2"),
            "{case}: the URL stays, its token redacted: {text}"
        );
        let spans = collector
            .wait_for_spans(1, Duration::from_secs(10))
            .expect("the span is exported");
        let fetch = spans.iter().find(|s| s.name == "fetch").expect("fetch");
        let description = fetch.status.message.as_str();
        assert!(
            description.contains("access_token=REDACTED&page=2"),
            "{description}"
        );
        let exception = fetch
            .events
            .iter()
            .find_map(|e| e.attr("exception.message")?.as_str())
            .expect("an exception event");
        assert!(exception.contains("access_token=REDACTED"), "{exception}");
        let argument = fetch.attr("url").and_then(|v| v.as_str()).expect("url");
        assert!(argument.contains("access_token=REDACTED"), "{argument}");
        let bytes = collector.raw_requests().concat();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "{format}"
        );
    }
}
