//! A light, synchronous Kubernetes client for drydock's fleet inventory:
//! kubeconfig files (CA data or file, client certificates, bearer tokens and
//! token files, exec credential plugins, `insecure-skip-tls-verify`) and
//! in-cluster service accounts, over the project's one HTTP stack (ureq +
//! rustls). It lists every container of every pod with the image it runs
//! and resolves the owning workload through owner references. See
//! docs/kubernetes.md.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod client;
mod config;
mod error;
mod exec;
mod inventory;

pub use client::Client;
pub use config::KubeConfig;
pub use error::KubeError;
pub use inventory::{ContainerKind, RunningContainer, Workload, fuzzing};
