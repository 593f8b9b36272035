//! Boring to operate: metrics, health, logs without secrets.

mod health;
mod logs;
mod metrics;
mod otlp;
mod proxy;
mod schemathesis;
