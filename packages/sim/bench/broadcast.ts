// Reliability, RMR, LDH, wall time and peak memory of the `broadcast` scenario (100 broadcasts from
// random origins, 200 ms apart, after the overlay and the tree have formed) at 1,000 and 10,000 nodes.
//   npm run -s bench -- broadcast         (BENCH_SIZES=1000,10000 by default; 10,000 takes ~15 min here)
import { benchScenario } from './_sizes.ts'

benchScenario('broadcast', '1000,10000')
