//! The network: backbone -> FPN -> BFP -> RPN -> RoIAlign -> box head.

pub mod backbone;
pub mod bbox_head;
pub mod bfp;
pub mod dense_conv;
pub mod detector;
pub mod flops;
pub mod fpn;
pub mod layers;
pub mod mobile_conv;
pub mod non_local;
pub mod resize;
pub mod roi_align;
pub mod rpn;

pub use detector::LibraRcnn;
