//! [`DataError`]: why reading, writing or checking data failed.

/// Why reading, writing or checking data failed. Messages name the file, image and annotation.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: invalid JSON at line {line}, column {column}: {msg}")]
    Json { file: String, line: usize, column: usize, msg: String },
    #[error("{file}: invalid VOC XML: {msg}")]
    Xml { file: String, msg: String },
    #[error("{file}: {what} id {id} appears more than once")]
    DuplicateId { file: String, what: &'static str, id: u64 },
    #[error("{file}: {annotation} refers to unknown image_id {image_id}")]
    UnknownImage { file: String, annotation: String, image_id: u64 },
    #[error("{file}: {annotation} refers to unknown category_id {category_id}")]
    UnknownCategory { file: String, annotation: String, category_id: u64 },
    #[error("{file}: {object} has unknown class {name:?}")]
    UnknownClass { file: String, object: String, name: String },
    #[error("image {image}: {origin} has a non-finite coordinate {bbox:?}")]
    NonFiniteBox { image: String, origin: String, bbox: [f32; 4] },
    #[error("image {image}: size {width}x{height} is empty")]
    EmptyImage { image: String, width: u32, height: u32 },
    #[error("image {image}: {boxes} boxes but {labels} labels")]
    LengthMismatch { image: String, boxes: usize, labels: usize },
    #[error("image {image}: {boxes} boxes but {areas} areas")]
    AreaCount { image: String, boxes: usize, areas: usize },
    #[error("image {image}: {origin} has label {label}, but there are {num_classes} classes")]
    LabelOutOfRange { image: String, origin: String, label: usize, num_classes: usize },
    #[error("image {image}: cannot decode: {msg}")]
    Decode { image: String, msg: String },
    #[error("invalid scene config: {0}")]
    SceneConfig(String),
}
