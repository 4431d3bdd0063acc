//! `zipchain-load`: a load generator for the writer's HTTP API (SPEC §7.1, issue #4).
//!
//! It runs as its own process, over keep-alive HTTP/1.1 connections (hyper's low-level client,
//! one request in flight per connection), and measures two things:
//!
//! - [`throughput`]: how many unique transactions a second the writer acknowledges (`202`)
//!   from `C` concurrent connections sending back to back, with the acknowledgement latency and
//!   the failures by kind; optionally through the batch upload path.
//! - [`finality`]: under an open-loop offered load of `R` tx/s, how long a transaction takes
//!   from its due time to `"status": "final"`, and how many never get there.
//!
//! [`report`] renders both as text or JSON. Transactions come from [`tx`]; connections from
//! [`conn`]; percentiles from [`stats`].

#![deny(missing_docs)]

pub mod conn;
pub mod finality;
pub mod report;
pub mod stats;
pub mod throughput;
pub mod tx;
