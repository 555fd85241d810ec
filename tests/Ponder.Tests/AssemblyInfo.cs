// Tests run one at a time: TorchSharp's random generator and thread settings are process-wide, and seeded
// tests (same seed → same losses, same samples) must not draw from it while another test does.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
