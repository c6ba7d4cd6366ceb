//! A small pool of store connections, used from the blocking thread pool.
use std::sync::{Arc, Mutex};

use drydock_store::{Store, StoreError, StoreUrl};
use tokio::sync::Semaphore;

pub(crate) struct Pool {
    url: StoreUrl,
    idle: Mutex<Vec<Store>>,
    permits: Arc<Semaphore>,
}

/// Why a store call produced no value.
#[derive(Debug)]
pub(crate) enum PoolError {
    Store(StoreError),
    /// The blocking task panicked or the runtime is shutting down.
    Task,
}

impl Pool {
    pub(crate) fn new(url: StoreUrl, size: usize, first: Store) -> Pool {
        Pool {
            url,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(size)),
        }
    }

    /// Runs `work` with a connection on the blocking pool. A connection
    /// whose call failed is dropped (the next call opens a fresh one).
    pub(crate) async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Task)?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let idle = pool.idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut store = match idle {
                Some(store) => store,
                None => Store::open(&pool.url).map_err(PoolError::Store)?,
            };
            let result = work(&mut store).map_err(PoolError::Store);
            if result.is_ok()
                && let Ok(mut idle) = pool.idle.lock()
            {
                idle.push(store);
            }
            result
        })
        .await
        .map_err(|_| PoolError::Task)?
    }
}
