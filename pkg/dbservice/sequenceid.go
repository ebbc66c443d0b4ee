package dbservice

import (
	"errors"
	"fmt"
	"strconv"
)

// The sdk-go work agent stamps every status with a snowflake id (bwmarrin/snowflake defaults:
// 41-bit millisecond timestamp since the Twitter epoch, 10-bit node, 12-bit step).
const (
	snowflakeEpochMillis = 1288834974657
	snowflakeNodeBits    = 10
	snowflakeStepBits    = 12
)

// SequenceID is a decoded snowflake status sequence id.
type SequenceID struct {
	Millis int64 // Unix milliseconds
	Node   int64
	Step   int64
}

// ParseSequenceID decodes the decimal string form of a snowflake id.
func ParseSequenceID(s string) (SequenceID, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return SequenceID{}, fmt.Errorf("invalid sequence id %q: %w", s, err)
	}
	return SequenceID{
		Millis: (v >> (snowflakeNodeBits + snowflakeStepBits)) + snowflakeEpochMillis,
		Node:   (v >> snowflakeStepBits) & (1<<snowflakeNodeBits - 1),
		Step:   v & (1<<snowflakeStepBits - 1),
	}, nil
}

// ErrSequenceNodeMismatch reports two sequence ids minted by different snowflake nodes, which
// Maestro refuses to order.
var ErrSequenceNodeMismatch = errors.New("sequence ids are not from the same node")

// SequenceNewer reports whether candidate is newer than stored, exactly as Maestro's
// compareSequenceIDs: anything is newer than an empty stored id; otherwise both must come from
// the same node and the later timestamp, then the higher step, wins.
func SequenceNewer(candidate, stored string) (bool, error) {
	if candidate != "" && stored == "" {
		return true, nil
	}
	c, err := ParseSequenceID(candidate)
	if err != nil {
		return false, err
	}
	s, err := ParseSequenceID(stored)
	if err != nil {
		return false, err
	}
	if c.Node != s.Node {
		return false, ErrSequenceNodeMismatch
	}
	if c.Millis != s.Millis {
		return c.Millis > s.Millis, nil
	}
	return c.Step > s.Step, nil
}
