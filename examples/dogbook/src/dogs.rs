//! The dogs service: `GET /api/v1/dogs?id=N` (also `/?id=N`) answers the dog's
//! name as text after 100 ms of work in the span `dogs.get-dog-name`; an
//! unknown dog is a 404.

use std::time::Duration;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

/// The dogs' names, by dog id.
pub const DOGS: [&str; 6] = ["Rufus", "Rex", "Dobby", "Möhre", "Jack", "Charlie"];

/// How long looking up a dog's name takes.
pub const WORK: Duration = Duration::from_millis(100);

#[derive(Debug, Deserialize)]
struct DogQuery {
    id: Option<String>,
}

/// The dogs router: `/api/v1/dogs` and `/`, the health routes and the server
/// layer. Make it after `nais_otel::init()`.
pub fn router() -> Router {
    Router::new()
        .route("/api/v1/dogs", get(get_dog))
        .route("/", get(get_dog))
        .merge(crate::health::health_routes("dogs"))
        .layer(nais_otel::server_layer().traceparent_response_header(true))
}

async fn get_dog(Query(query): Query<DogQuery>) -> Response {
    let id = query.id.as_deref().and_then(|id| id.trim().parse().ok());
    match id {
        Some(id) => match get_dog_name(id).await {
            Some(name) => name.into_response(),
            None => (StatusCode::NOT_FOUND, "no such dog\n").into_response(),
        },
        None => (StatusCode::NOT_FOUND, "no such dog\n").into_response(),
    }
}

#[tracing::instrument(name = "dogs.get-dog-name", fields(dogs.id = dog_id as i64), skip_all)]
async fn get_dog_name(dog_id: usize) -> Option<&'static str> {
    // Stands in for a database query.
    tokio::time::sleep(WORK).await;
    DOGS.get(dog_id).copied()
}
