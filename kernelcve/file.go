// SPDX-License-Identifier: GPL-3.0-or-later

package kernelcve

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxRecord bounds the file read: real records are under 100 kB.
const maxRecord = 4 << 20

// regularFile returns the information of path's regular file, following
// a symlink. A missing name is an error wrapping fs.ErrNotExist; a name
// that is there but is no regular file (a FIFO, a device, a directory, a
// symlink to nothing) is another error, saying what it is, so that it is
// never mistaken for "no record" and never opened.
func regularFile(path string) (fs.FileInfo, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(path)
		st, err = os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			// git -C works in any folder of the clone
			return nil, fmt.Errorf("%s is a dangling symlink (to %q): repair or remove it (git -C %s status shows what changed)", path, target, filepath.Dir(path))
		}
		if err != nil {
			return nil, err
		}
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s, not a regular file: only regular files are read", path, fileKind(st.Mode()))
	}
	return st, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file (" + m.Type().String() + ")"
}

// readRegular reads path, which must be a regular file of at most max
// bytes. It opens without blocking (a FIFO put in the file's place after
// the check cannot hang the reader) and checks the opened file again.
func readRegular(path string, max int64) ([]byte, error) {
	if _, err := regularFile(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNoBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s, not a regular file: only regular files are read", path, fileKind(st.Mode()))
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, more than a record can be", path, st.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is more than %d bytes, more than a record can be", path, max)
	}
	return data, nil
}
