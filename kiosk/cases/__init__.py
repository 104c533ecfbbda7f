"""Pure rules of cases: types, channels, states, deadlines and deadline alerts."""
