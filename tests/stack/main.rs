//! The Countersign stack, driven as the API gateway drives it: tonic
//! clients, session tokens in `authorization` metadata, real SMTP. Every
//! scenario runs on the embedded default and on Postgres + Redis.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod conformance;
mod discovery;
mod enforcement;
mod gateway;
mod input;
mod isolation;
mod journey;
mod onboarding;
mod org;
mod outage;
mod race;
mod reset;
mod secrets;
mod throttle;
