//! Anatomical embedding: mapping a neuron into the barrel-cortex model and building network parameter files from activity templates.
