package minidump

import (
	"errors"
	"fmt"
)

// Thread is one MINIDUMP_THREAD with its stack and context resolved.
type Thread struct {
	ID            uint32
	SuspendCount  uint32
	PriorityClass uint32
	Priority      uint32
	TEB           uint64
	// Stack is the captured stack memory (Data nil if not captured).
	// StackBase is the descriptor's start address even when not captured.
	Stack MemoryRegion
	// Context is the thread's CPU state, nil when absent or unreadable.
	Context *Context
	// Name comes from the ThreadNames stream ("" when unnamed).
	Name string
}

const threadSize = 48

func (d *Dump) readThreadList(p []byte) error {
	n, off, err := listCount(p, d.ByteOrder, threadSize)
	if err != nil {
		return err
	}
	c := d.cur(p)
	c.off = off
	d.Threads = make([]Thread, 0, n)
	var errs []error
	for range n {
		t := Thread{ID: c.u32(), SuspendCount: c.u32(), PriorityClass: c.u32(), Priority: c.u32(), TEB: c.u64()}
		stack, err := d.memoryDescriptor(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("thread %d stack: %w", t.ID, err))
		}
		t.Stack = stack
		ctx, err := d.context(c.loc())
		if err != nil {
			errs = append(errs, fmt.Errorf("thread %d: %w", t.ID, err))
		}
		t.Context = ctx
		d.Threads = append(d.Threads, t)
	}
	return errors.Join(errs...)
}

// context reads a context record at l for the dump's CPU.
func (d *Dump) context(l location) (*Context, error) {
	if l.size == 0 {
		return nil, nil
	}
	p, ok := d.locData(l)
	if !ok {
		return nil, fmt.Errorf("context of %d bytes at %#x out of bounds", l.size, l.rva)
	}
	var arch Arch
	if d.SystemInfo != nil {
		arch = d.SystemInfo.contextArch()
		if arch == "" {
			return nil, fmt.Errorf("no context decoder for cpu %s", d.SystemInfo.CPUArch())
		}
	}
	return parseContext(p, d.ByteOrder, arch)
}

// Thread returns the thread with id tid.
func (d *Dump) Thread(tid uint32) (*Thread, bool) {
	for i := range d.Threads {
		if d.Threads[i].ID == tid {
			return &d.Threads[i], true
		}
	}
	return nil, false
}

// StackMemory returns the memory to walk a thread's stack: its stack
// descriptor's region, or, when that is missing or does not contain the
// stack pointer, the captured region containing sp (as minidump-stackwalk
// does for dumps whose stack descriptor misses SP).
func (d *Dump) StackMemory(t *Thread, sp uint64) (*MemoryRegion, bool) {
	if t.Stack.Data != nil && t.Stack.Contains(sp) {
		return &t.Stack, true
	}
	if r, ok := d.Memory.Region(sp); ok {
		return r, true
	}
	if t.Stack.Data != nil {
		return &t.Stack, true
	}
	return nil, false
}

const threadNameSize = 12

func (d *Dump) readThreadNames(p []byte) error {
	n, off, err := listCount(p, d.ByteOrder, threadNameSize)
	if err != nil {
		return err
	}
	c := d.cur(p)
	c.off = off
	d.threadNames = make(map[uint32]string, n)
	var errs []error
	for range n {
		tid, rva := c.u32(), c.u64()
		if rva > uint64(^uint32(0)) {
			errs = append(errs, fmt.Errorf("thread %d name rva %#x out of bounds", tid, rva))
			continue
		}
		name, err := d.stringAt(uint32(rva))
		if err != nil {
			// One unreadable name does not spoil the others.
			errs = append(errs, fmt.Errorf("thread %d name: %w", tid, err))
			continue
		}
		d.threadNames[tid] = name
	}
	return errors.Join(errs...)
}

func (d *Dump) attachThreadNames() {
	for i := range d.Threads {
		d.Threads[i].Name = d.threadNames[d.Threads[i].ID]
	}
}

// ThreadName returns a thread's name from the ThreadNames stream.
func (d *Dump) ThreadName(tid uint32) (string, bool) {
	n, ok := d.threadNames[tid]
	return n, ok
}
