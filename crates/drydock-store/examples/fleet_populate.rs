//! Fills a fleet store with N images for bench/fleet.sh, from real shapes:
//! every image has the OS packages of a real image's SBOM (drydock's
//! native JSON), a few of them at other versions per "base" variant, plus
//! language packages drawn (popular ones more often) from a pool of real
//! (purl, name, version) triples taken from the advisory data. Each image
//! is seen at one registry tag.
//!
//! usage: fleet_populate STORE_URL BASE_SBOM.json POOL.tsv IMAGES PER_IMAGE [SEED]
use std::collections::BTreeSet;

use drydock_core::{ImageMetadata, Location, Package, PackageKind};
use drydock_store::{Sighting, SightingKind, Store, StoreUrl};

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Skewed towards 0: popular packages appear in many images.
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.below(n);
        let b = self.below(n);
        a.min(b)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, base, pool_file, images, per_image, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: fleet_populate STORE_URL BASE_SBOM.json POOL.tsv IMAGES PER_IMAGE [SEED]"
        );
        std::process::exit(2);
    };
    let images: usize = images.parse()?;
    let per_image: usize = per_image.parse()?;
    let seed: u64 = rest.first().map_or(Ok(7), |s| s.parse())?;
    let base = drydock_sbom::read_native(&std::fs::read(base)?)?;
    let mut pool: Vec<Package> = Vec::new();
    for line in std::fs::read_to_string(pool_file)?.lines() {
        let mut fields = line.split('\t');
        let (Some(purl), Some(name), Some(version)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(purl) = drydock_sbom::parse_purl(purl) else {
            continue;
        };
        let Ok(kind) = purl.ty().parse::<PackageKind>() else {
            continue;
        };
        pool.push(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            kind,
            purl,
            arch: None,
            source: None,
            licenses: Vec::new(),
            maintainer: None,
            installed_size: None,
            checksum: None,
            installed: true,
            locations: Vec::new(),
            layer: None,
            files: Vec::new(),
        });
    }
    let mut store = Store::open(&StoreUrl::parse(url)?)?;
    let mut rng = Rng(seed | 1);
    let language = per_image.saturating_sub(base.packages.len());
    let now = 1_767_225_600;
    let mut sightings = Vec::with_capacity(images);
    let started = std::time::Instant::now();
    for index in 0..images {
        let mut sbom = base.clone();
        let variant = index % 20;
        // A base variant: some OS packages at a rebuilt version.
        for (position, package) in sbom.packages.iter_mut().enumerate() {
            if variant > 0 && position % 20 == variant {
                package.version = format!("{}+fleet{variant}", package.version);
            }
        }
        let mut chosen = BTreeSet::new();
        while chosen.len() < language.min(pool.len()) {
            chosen.insert(rng.skewed(pool.len()));
        }
        for choice in chosen {
            let mut package = pool[choice].clone();
            package.locations = vec![Location {
                path: drydock_core::ImagePath::new(format!(
                    "app/node_modules/{}/package.json",
                    package.name
                ))?,
                layer: None,
            }];
            sbom.packages.push(package);
        }
        let digest = format!("sha256:{seed:016x}{index:048x}");
        sbom.source.image = Some(ImageMetadata {
            manifest_digest: digest.parse().ok(),
            ..ImageMetadata::default()
        });
        let matchable = vec![true; sbom.packages.len()];
        store.put_sbom(&digest, &sbom, &matchable, now)?;
        sightings.push(Sighting {
            key: format!("bench/app{index}:1@{digest}"),
            digest: digest.clone(),
            kind: SightingKind::Registry,
            reference: format!("registry.example/bench/app{index}:1"),
            registry: Some("registry.example".to_owned()),
            repository: Some(format!("bench/app{index}")),
            tag: Some("1".to_owned()),
            cluster: None,
            namespace: None,
            workload_kind: None,
            workload: None,
            pod: None,
            container: None,
            container_kind: None,
        });
        if (index + 1) % 1000 == 0 {
            eprintln!(
                "fleet_populate: {} images in {:.1} s",
                index + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    store.add_source(
        "bench",
        "registry",
        "registry.example/bench",
        &serde_json::json!({}),
        now,
    )?;
    store.record_sightings("bench", &sightings, now)?;
    eprintln!(
        "fleet_populate: {images} images of {per_image} packages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
