package crashgen

import (
	"fmt"
	"strings"
)

// frameCFI is the unwind rule every generated function uses: the caller's
// stack pointer is 16 bytes up and the return address sits just below it.
// The generated stacks are laid out to match, so they walk by CFI.
const frameCFI = ".cfa: $rsp 16 + .ra: .cfa 8 - ^"

// SymFile returns the module's Breakpad .sym text: MODULE, INFO CODE_ID,
// FILE, FUNC with one line record each, and STACK CFI INIT per function.
func (m *Module) SymFile(os string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "MODULE %s x86_64 %s %s\n", os, m.DebugID, m.DebugFile)
	fmt.Fprintf(&b, "INFO CODE_ID %s %s\n", m.CodeID, m.Name)
	files := map[string]int{}
	for _, f := range m.Funcs {
		if _, ok := files[f.File]; !ok && f.File != "" {
			files[f.File] = len(files)
			fmt.Fprintf(&b, "FILE %d %s\n", files[f.File], f.File)
		}
	}
	for _, f := range m.Funcs {
		fmt.Fprintf(&b, "FUNC %x %x 0 %s\n", f.Addr, f.Size, f.Name)
		if f.File != "" {
			fmt.Fprintf(&b, "%x %x %d %d\n", f.Addr, f.Size, f.Line, files[f.File])
		}
	}
	for _, f := range m.Funcs {
		fmt.Fprintf(&b, "STACK CFI INIT %x %x %s\n", f.Addr, f.Size, frameCFI)
	}
	return b.String()
}

// SymKey is the module's path in Breakpad's symbol layout.
func (m *Module) SymKey() string {
	return m.DebugFile + "/" + m.DebugID + "/" + strings.TrimSuffix(m.DebugFile, ".pdb") + ".sym"
}
