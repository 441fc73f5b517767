// SPDX-License-Identifier: Apache-2.0
// A healthy service: allocates garbage all the time, retains a bounded cache.
const cache = new Map();
let n = 0;
setInterval(() => {
  const garbage = [];
  for (let i = 0; i < 2000; i++) garbage.push({ i, s: 'x' + i });
  cache.set(n % 100, garbage.slice(0, 10));
  n++;
}, 20);
