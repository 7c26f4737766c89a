//! The extractors that end the per-handler repetition: the request's language, a query string
//! refused in that language, a staff-only caller, and an area read from the query and checked
//! against the caller's scope. Each answers exactly what the handlers answered when they did
//! this themselves; a handler lists them in the order the checks must run (axum runs them left
//! to right).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use doorstep_domain::Lang;
use doorstep_domain::values::AreaCode;
use serde::de::DeserializeOwned;

use super::{ApiError, AppState, lang_of, query_error, scoped_area};
use crate::accounts::SessionUser;
use crate::http::auth::Caller;

/// A request body, read whole within the server's limit: one too large is 413 `too_large`, one
/// that cannot be read 400 `unreadable_body`, in the request's language. It reads the body, so
/// it comes last among a handler's extractors.
#[derive(Debug, Clone)]
pub struct Body(pub axum::body::Bytes);

impl axum::extract::FromRequest<AppState> for Body {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(req.headers());
        axum::body::Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|e| super::body_rejection(e, &state.limits, lang))
    }
}

/// The request's language, from `Accept-Language`; Vietnamese when it names neither.
#[derive(Debug, Clone, Copy)]
pub struct ReqLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ReqLang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ReqLang(lang_of(&parts.headers)))
    }
}

/// A query string read into `T`; one that does not read is 400 `bad_query` in the request's
/// language.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(q)) => Ok(Query(q)),
            Err(e) => Err(query_error(e, lang_of(&parts.headers))),
        }
    }
}

/// The caller of a read for staff only: a volunteer is refused with 403 `staff_only`.
#[derive(Debug, Clone)]
pub struct Staff(pub SessionUser);

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(user) = Caller::from_request_parts(parts, state).await?;
        crate::http::filter::staff_only(&user, lang_of(&parts.headers))?;
        Ok(Staff(user))
    }
}

/// A query naming an area: which field holds it (the name a 400 gives).
pub trait ScopedQuery {
    /// The query's field, as the request spells it.
    const FIELD: &'static str = "area";
    fn area(&self) -> &str;
}

/// Names the field of a query type that holds its area (its name in the request too).
macro_rules! scoped_query {
    ($query:ty, $field:ident) => {
        impl $crate::http::extract::ScopedQuery for $query {
            const FIELD: &'static str = stringify!($field);

            fn area(&self) -> &str {
                &self.$field
            }
        }
    };
}
pub(crate) use scoped_query;

/// A query whose area was parsed (400 naming the field) and found in the caller's scope (404
/// for an unknown area, 403 for one outside); with the area's path, for its subtree. The caller
/// is checked first (401), then the query is read (400).
#[derive(Debug, Clone)]
pub struct Scoped<T> {
    pub q: T,
    pub area: AreaCode,
    pub path: String,
    pub caller: SessionUser,
}

impl<T: DeserializeOwned + ScopedQuery + Send> FromRequestParts<AppState> for Scoped<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(caller) = Caller::from_request_parts(parts, state).await?;
        let Query(q) = Query::<T>::from_request_parts(parts, state).await?;
        let lang = lang_of(&parts.headers);
        let (area, path) = scoped_area(state, &caller, q.area(), T::FIELD, lang).await?;
        Ok(Scoped { q, area, path, caller })
    }
}
