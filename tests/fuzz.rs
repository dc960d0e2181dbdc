//! Fuzzing the readers of files users bring: COCO JSON, VOC XML, checkpoints (`.lrc` and
//! safetensors) and images. Each target feeds proptest-generated inputs (a valid file mutated
//! by byte flips, inserts, deletions, truncation and splices of its own bytes, or raw bytes) to
//! the reader, which must answer `Ok` or `Err`, never panic. Cases per target:
//! `LIBRA_FUZZ_CASES` (default 300: the test run's short fuzz; 100000 for a long run). Cases
//! proptest finds are kept in `tests/fuzz.proptest-regressions` and replayed first every run.

use burn::tensor::Device;
use libra_rcnn::checkpoint;
use libra_rcnn::config::DetectorConfig;
use libra_rcnn::data::coco::{parse_coco, to_coco_json};
use libra_rcnn::data::synthetic::{SCENE_CLASSES, SceneConfig, generate_scene};
use libra_rcnn::data::voc::{VocClasses, parse_voc, to_voc_xml};
use libra_rcnn::data::{Dataset, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, decode_image};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// One edit of a byte string: `at` is taken modulo the length at the time.
#[derive(Clone, Debug)]
enum Edit {
    Flip {
        at: usize,
        bit: u8,
    },
    Set {
        at: usize,
        byte: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// Copies `len` bytes from `from` over `at` (a chunk of the file somewhere else).
    Splice {
        from: usize,
        at: usize,
        len: usize,
    },
    Truncate {
        at: usize,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        (at.clone(), 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        (at.clone(), prop_oneof![any::<u8>(), Just(0u8), Just(0xFF), Just(b'9'), Just(b'"'), Just(b'<')]).prop_map(|(at, byte)| Edit::Set { at, byte }),
        (at.clone(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        (at.clone(), 1usize..64).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), at.clone(), 1usize..64).prop_map(|(from, at, len)| Edit::Splice { from, at, len }),
        at.prop_map(|at| Edit::Truncate { at }),
    ]
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if b.is_empty() {
            break;
        }
        let n = b.len();
        match *e {
            Edit::Flip { at, bit } => b[at % n] ^= 1 << bit,
            Edit::Set { at, byte } => b[at % n] = byte,
            Edit::Insert { at, ref bytes } => drop(b.splice(at % n..at % n, bytes.iter().copied())),
            Edit::Delete { at, len } => drop(b.drain(at % n..(at % n + len).min(n))),
            Edit::Splice { from, at, len } => {
                let (from, at) = (from % n, at % n);
                let len = len.min(n - from).min(n - at);
                let chunk = b[from..from + len].to_vec();
                b[at..at + len].copy_from_slice(&chunk);
            }
            Edit::Truncate { at } => b.truncate(at % n),
        }
    }
    b
}

/// Inputs from `seeds`: one seed with 1-8 edits, or (one time in eight) raw bytes.
fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    prop_oneof![
        7 => (0..n, prop::collection::vec(edit(), 1..8)).prop_map(move |(i, edits)| apply(seeds[i].clone(), &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn cases() -> u32 {
    std::env::var("LIBRA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

/// Runs `target` on `cases()` inputs from `seeds`; a panic fails with the (shrunk) input.
fn fuzz(name: &str, seeds: Vec<Vec<u8>>, target: impl Fn(&[u8])) {
    let config = Config {
        cases: cases(),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("tests/fuzz.proptest-regressions"))),
        ..Config::default()
    };
    let start = std::time::Instant::now();
    let mut runner = TestRunner::new_with_rng(config, proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha));
    runner
        .run(&inputs(seeds), |bytes| {
            target(&bytes);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!("{name}: {} inputs without a panic in {:.1} s", cases(), start.elapsed().as_secs_f64());
}

/// `n` generated scenes (320 x 240) with their classes.
fn scenes(n: u64) -> Dataset {
    let items = (0..n).map(|seed| generate_scene(&SceneConfig::default(), seed).expect("scene").1).collect();
    Dataset { classes: SCENE_CLASSES.map(String::from).to_vec(), items }
}

/// Two COCO files of the generated scenes: this project's writer's output and a hand-written one
/// with a crowd region and fields we ignore.
fn coco_seeds() -> Vec<Vec<u8>> {
    let written = to_coco_json(&scenes(3)).expect("COCO JSON");
    let by_hand = r#"{"info": {"year": 2024}, "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}, {"id": 2, "file_name": "b.png", "width": 10, "height": 10}],
      "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [10.5, 20, 100, 50.25], "area": 4000, "iscrowd": 0, "segmentation": [[1, 2, 3, 4]]},
                      {"id": 2, "image_id": 1, "category_id": 3, "bbox": [0, 0, 640, 480], "iscrowd": 1}],
      "categories": [{"id": 3, "name": "tree", "supercategory": "plant"}]}"#;
    vec![written.into_bytes(), by_hand.as_bytes().to_vec()]
}

fn voc_seeds() -> Vec<Vec<u8>> {
    let scenes = scenes(2);
    let mut seeds: Vec<Vec<u8>> = scenes.items.iter().map(|item| to_voc_xml(item, &scenes.classes).expect("VOC XML").into_bytes()).collect();
    seeds.push(
        b"<annotation><filename>x.jpg</filename><size><width>500</width><height>375</height><depth>3</depth></size>\
          <object><name> dog </name><difficult>1</difficult><bndbox><xmin>48</xmin><ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox></object>\
          <object><name>person</name><bndbox><xmin>8</xmin><ymin>12</ymin><xmax>352</xmax><ymax>498</ymax></bndbox></object></annotation>"
            .to_vec(),
    );
    seeds
}

#[test]
fn coco_reader_never_panics() {
    fuzz("COCO JSON", coco_seeds(), |bytes| {
        let _ = parse_coco(&String::from_utf8_lossy(bytes), "fuzz.json");
    });
}

#[test]
fn voc_reader_never_panics() {
    fuzz("VOC XML", voc_seeds(), |bytes| {
        let _ = parse_voc(&String::from_utf8_lossy(bytes), "fuzz.xml", &mut VocClasses::collect(), false);
    });
}

#[test]
fn checkpoint_reader_never_panics() {
    let dev = Device::flex();
    let model = DetectorConfig::tiny(vec!["a".into(), "b".into()]).init(&dev).expect("tiny model");
    let seeds = vec![
        checkpoint::to_bytes_with(&model, false).expect(".lrc"),
        checkpoint::to_bytes_with(&model, true).expect(".lrc f16"),
        checkpoint::to_safetensors(&model, false).expect("safetensors"),
    ];
    fuzz("checkpoint (.lrc, safetensors)", seeds, |bytes| {
        let _ = checkpoint::from_bytes(bytes, &dev);
    });
}

#[test]
fn image_decoder_never_panics() {
    let small = SceneConfig { width: 48, height: 32, min_size: 8, max_size: 20, ..SceneConfig::default() };
    let scene = generate_scene(&small, 3).expect("scene").0;
    let encode = |format| {
        let mut out = Vec::new();
        scene.write_to(&mut std::io::Cursor::new(&mut out), format).expect("encode");
        out
    };
    fuzz("images (PNG, JPEG)", vec![encode(image::ImageFormat::Png), encode(image::ImageFormat::Jpeg)], |bytes| {
        let _ = decode_image(bytes, "fuzz");
    });
}

/// A PNG header claiming `w` x `h` pixels (IHDR only, with its CRC), then an empty IDAT and IEND.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let body = [kind, data].concat();
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let ihdr = [&w.to_be_bytes()[..], &h.to_be_bytes(), &[8, 2, 0, 0, 0]].concat(); // 8-bit RGB
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[]);
    chunk(b"IEND", &[]);
    png
}

/// CRC-32 (IEEE, as PNG chunks use), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn oversized_images_are_refused_by_the_pixel_limit_before_decoding() {
    // CRC check of the helper: the IEND chunk's well-known CRC.
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    for (w, h) in [(60_000, 60_000), (100_000, 1), (8_193, 8_193)] {
        let err = decode_image(&png_claiming(w, h), "huge.png").expect_err("refused").to_string();
        assert!(err.contains("huge.png") && err.contains(&format!("{w} x {h}")) && err.contains("limit"), "{err}");
    }
    assert_eq!((MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE), (64 << 20, 32_768));
    // Within the limit the header is accepted and decoding goes on (to fail on the empty data).
    let err = decode_image(&png_claiming(100, 100), "small.png").expect_err("no pixel data").to_string();
    assert!(!err.contains("limit"), "{err}");
}
