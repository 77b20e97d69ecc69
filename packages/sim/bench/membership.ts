// Wall time, peak memory and figures of the `membership` scenario at 1,000 and 10,000 nodes (issue 4).
//   npm run -s bench -- membership        (BENCH_SIZES=1000,10000 by default, BENCH_SEED=1)
import { benchScenario } from './_sizes.ts'

benchScenario('membership', '1000,10000')
