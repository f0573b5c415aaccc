#![allow(unreachable_pub, missing_docs, clippy::unwrap_used)]
//! Integration tests of the host over real HTTP on loopback, with real
//! plugin libraries (staged by `scripts/test`) and a real SQLite file.

#[macro_use]
mod support;

mod access;
mod admin_api;
mod capabilities;
mod cli;
mod config;
mod consent;
mod contract_cases;
mod cron;
mod deadlines;
mod events;
mod faults;
mod files;
mod hooks_and_users;
mod library_check;
mod lifecycle;
mod loading;
mod manifest;
mod marketplace;
mod marketplace_checks;
mod marketplace_hostile;
mod one_user_model;
mod platform_events;
mod prometheus;
mod quarantine;
mod replicas;
mod routes_and_kv;
mod sign_in;
mod sql;
mod ui_and_auth;
mod uninstall;
mod updates;
mod webhooks;
