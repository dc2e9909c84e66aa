//! The API reference page at `/docs`: the committed OpenAPI document (`docs/openapi.json`, the
//! one `GET /v1/openapi.json` serves) rendered by Scalar, whose script the page loads from its
//! CDN.

use axum::Router;
use mfa_service::http::openapi::COMMITTED;
use utoipa_scalar::{Scalar, Servable};

/// `GET /docs`.
pub fn router() -> Result<Router, serde_json::Error> {
    let document: serde_json::Value = serde_json::from_str(COMMITTED)?;
    Ok(Scalar::with_url("/docs", document).title("mfa-service API reference").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_page_holds_the_committed_document() {
        let request = Request::get("/docs").body(Body::empty()).unwrap();
        let answer = router().unwrap().oneshot(request).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let page =
            String::from_utf8(to_bytes(answer.into_body(), usize::MAX).await.unwrap().to_vec())
                .unwrap();
        let start = page.find(r#"type="application/json">"#).unwrap() + 24;
        let end = start + page[start..].find("</script>").unwrap();
        let shown: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        let committed: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
        assert_eq!(shown, committed);
        assert!(shown["paths"]["/v1/users/{user}/challenges/{id}/verify"]["post"].is_object());
    }
}
