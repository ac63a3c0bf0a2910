"""The stages every post passes through in order: enrich, then the detectors, then storage and publishing."""
