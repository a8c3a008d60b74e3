/**
 * The finer readings of the attack's scores (anonymity/measure.ts): the accuracy expected
 * over the tie-breaks, and the true client's rank among all clients.
 */
import t from 'tap'
import { expectedAccuracy, truthRank } from '../../anonymity/measure.js'

// score[client][flow]; three clients, the truth of every flow is client 0.
const truth = [0, 0, 0, 0]
const score = [
  [0.9, 0.0, 0.5, 0.1],
  [0.1, 0.0, 0.5, 0.6],
  [0.2, 0.0, 0.2, 0.3],
]

t.test('expected accuracy counts a flow 1/m when its true client is among m tied best, 0 when it is not', async (t) => {
  // Flow 0: alone best (1); flow 1: all three tied (1/3); flow 2: tied with one other (1/2); flow 3: beaten (0).
  t.equal(expectedAccuracy(score, truth, 0.01), (1 + 1 / 3 + 1 / 2 + 0) / 4)
  t.equal(expectedAccuracy(score.map((row) => row.map(() => 0)), truth, 0.01), 1 / 3, 'all tied: chance')
  t.equal(expectedAccuracy(score, [], 0.01), 0, 'no flows')
})

t.test('rank is the share of other clients the true client outscores, ties counting half', async (t) => {
  // Flow 0: beats both (1); flow 1: ties both (0.5); flow 2: ties one, beats one (0.75); flow 3: beaten by both (0).
  t.equal(truthRank(score, truth, 0.01), (1 + 0.5 + 0.75 + 0) / 4)
  t.equal(truthRank(score.map((row) => row.map(() => 0)), truth, 0.01), 0.5, 'all tied: says nothing')
  t.equal(truthRank([[0.1], [0.9]], [0], 0.01), 0, 'always beaten')
})
