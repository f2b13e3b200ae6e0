package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWrite zips a file and reads it back: one entry, named as the file, executable, with
// the file's bytes; and zipping it again gives the same zip.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	content := bytes.Repeat([]byte("\x7fELF binary "), 1000)
	if err := os.WriteFile(bin, content, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bootstrap.zip")
	if err := write(out, bin); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("zip holds %d files, first %q; want only bootstrap", len(zr.File), zr.File[0].Name)
	}
	if m := zr.File[0].Mode(); m.Perm() != 0o755 || !m.IsRegular() {
		t.Errorf("bootstrap's mode in the zip is %v, want -rwxr-xr-x", m)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("bootstrap's content differs (%d bytes, %v), want the file's %d", len(got), err, len(content))
	}
	first, _ := os.ReadFile(out)
	if err := write(out, bin); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(out); !bytes.Equal(first, second) {
		t.Error("zipping the same file twice gave different zips")
	}
	if err := write(filepath.Join(dir, "x.zip"), dir); err == nil {
		t.Error("zipping a directory succeeded, want an error")
	}
}
