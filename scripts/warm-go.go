// Built once when the runner image is made, so Go's build cache already holds the standard
// library packages interview programs use; each sandbox copies the cache in (see languages.toml).
package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"container/list"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

type ints []int

func (h ints) Len() int           { return len(h) }
func (h ints) Less(i, j int) bool { return h[i] < h[j] }
func (h ints) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ints) Push(x any)        { *h = append(*h, x.(int)) }
func (h *ints) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }

func main() {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	h := &ints{3, 1, 2}
	heap.Init(h)
	l := list.New()
	l.PushBack(1)
	var mu sync.Mutex
	mu.Lock()
	mu.Unlock()
	s := []int{3, 1, 2}
	sort.Ints(s)
	slices.Sort(s)
	_ = errors.New("x")
	_ = bytes.NewBufferString("")
	_ = time.Now()
	_ = unicode.IsDigit('1')
	fmt.Fprintln(w, "warm", strings.ToUpper("go"), strconv.Itoa(bits.OnesCount(7)), math.Sqrt(4))
}
