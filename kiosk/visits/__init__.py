"""Pure rules of check-in and the visit log: ID numbers, resident QR tokens, visitor
passes, scan de-duplication and retention. No I/O, no clock: times are passed in."""
