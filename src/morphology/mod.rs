//! Morphology: ISF `.hoc` and SWC readers, the artificial AIS/myelin axon, and morphology transforms (apical scaling).
