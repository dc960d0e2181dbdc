//! The crate's error type: every failure a user can cause ends here, with a readable message.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error("weights: {0}")]
    Weights(String),
    #[error("device: {0}")]
    Device(String),
    #[error("{0}")]
    Io(String),
    /// A request that cannot be served as asked (the page's calls).
    #[error("{0}")]
    Input(String),
}

impl From<burn::tensor::ExecutionError> for Error {
    fn from(e: burn::tensor::ExecutionError) -> Self {
        Error::Device(format!("{e:?}"))
    }
}

impl From<burn::tensor::DataError> for Error {
    fn from(e: burn::tensor::DataError) -> Self {
        Error::Device(format!("tensor read: {e:?}"))
    }
}

pub type Result<T> = std::result::Result<T, Error>;
